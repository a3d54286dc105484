package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.SplittableRandom;
import jlora.backend.Dropout;
import org.junit.jupiter.api.Test;

/**
 * The dropout mask of cuda/lora_linear.cuh (the same inline function the kernels call, run on the
 * CPU through jl_lora_dropout_factor_host) against {@link Dropout#factor}, exactly, for random
 * seeds, rates (including rates whose p · 2⁵³ threshold rounding matters) and indices. Needs the
 * native library, not a GPU.
 */
class LoraDropoutMaskTest {
    @Test
    void kernelMaskIsDropoutFactorBitForBit() {
        assumeTrue(NativeLibrary.load() instanceof NativeLibrary.Loaded, () -> "no native library: " + CudaDevices.describe());
        CudaApi api = CudaApi.require();
        MethodHandle h = api.bindStatus("jl_lora_dropout_factor_host", JAVA_LONG, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS);
        long seed0 = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed0);
        float[] rates = {0.05f, 0.1f, 0.5f, 0.999f, (float) r.nextDouble(), Math.nextUp(0f)};
        int n = 20000;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment idx = arena.allocate(JAVA_LONG, n), out = arena.allocate(JAVA_FLOAT, n);
            for (float p : rates) {
                Dropout d = new Dropout(p, r.nextLong());
                long[] index = new long[n];
                for (int i = 0; i < n; i++) index[i] = i < n / 2 ? i : r.nextLong(1L << 40);
                MemorySegment.copy(index, 0, idx, JAVA_LONG, 0, n);
                long threshold = LoraLinearKernels.keepThreshold(d);
                float keep = LoraLinearKernels.keepScale(d);
                api.run("jl_lora_dropout_factor_host", () -> (int) h.invokeExact(d.seed(), threshold, keep, idx, (long) n, out));
                for (int i = 0; i < n; i++) {
                    float want = d.factor(index[i]), got = out.getAtIndex(JAVA_FLOAT, i);
                    assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got),
                            "seed=" + seed0 + " p=" + p + " dropout seed=" + d.seed() + " index=" + index[i] + ": want " + want + " got " + got);
                }
            }
        }
    }
}
