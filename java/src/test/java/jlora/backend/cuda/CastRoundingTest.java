package jlora.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import jlora.tensor.HalfFloats;
import org.junit.jupiter.api.Test;

/**
 * The cast kernels' rounding function (cuda/bf16_bits.cuh), run on the CPU through
 * jl_cast_f32_to_bf16_host, against {@link HalfFloats#f32ToBf16}, bit for bit. Needs the
 * library, not a GPU. Inputs: every sign/exponent/top-mantissa pattern (the high 16 bits)
 * with the low bits that decide rounding (0x0000, 0x7FFF, 0x8000, 0x8001, 0xFFFF), plus
 * fresh random values.
 */
class CastRoundingTest {
    private static final int[] LOW_BITS = {0x0000, 0x7FFF, 0x8000, 0x8001, 0xFFFF};

    @Test
    void hostRunOfKernelRoundingMatchesHalfFloats() {
        assumeTrue(NativeLibrary.load() instanceof NativeLibrary.Loaded, () -> "no native library: "
                + CudaDevices.describe());
        CudaApi api = CudaApi.require();
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int patterned = (1 << 16) * LOW_BITS.length;
        int n = patterned + (1 << 18);
        float[] values = new float[n];
        for (int high = 0, i = 0; high < 1 << 16; high++) {
            for (int low : LOW_BITS) values[i++] = Float.intBitsToFloat(high << 16 | low);
        }
        for (int i = patterned; i < n; i++) values[i] = CastInputs.interestingFloat(random);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
            MemorySegment dst = arena.allocate(2L * n);
            dst.fill((byte) 0xA5);
            api.castF32ToBf16Host(src, dst, n);
            for (int i = 0; i < n; i++) {
                short want = HalfFloats.f32ToBf16(values[i]);
                short got = dst.getAtIndex(ValueLayout.JAVA_SHORT, i);
                if (want != got) {
                    throw new AssertionError(String.format("seed=%d: first mismatch at %d: input 0x%08X (%s), want 0x%04X got 0x%04X",
                            seed, i, Float.floatToRawIntBits(values[i]), values[i], want, got));
                }
            }
        }
    }
}
