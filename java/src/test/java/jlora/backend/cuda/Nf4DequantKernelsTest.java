package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuda/nf4_dequant.cu against {@link Nf4Tensor#dequantize(DType, Arena)} to BF16 on the CPU,
 * bit for bit (the dequantization is a table lookup times an fp32 scale rounded once: no
 * tolerance). Weights are fresh Gaussians quantized by jlora.quant, with and without double
 * quant, several block sizes, and element counts that leave a tail past the 32-element vector
 * groups (odd counts included, whose last byte has an unused low nibble).
 */
@Tag("gpu")
class Nf4DequantKernelsTest {
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    @Test
    void doubleQuantMatchesCpuBitForBit() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        for (long[] shape : new long[][] {{1, 1}, {3, 11}, {37, 64}, {256, 257}, {1024, 1031}}) {
            for (int blocksize : new int[] {64, 32, 256}) check(seed, r, shape, blocksize, true);
        }
    }

    @Test
    void plainAbsmaxMatchesCpuBitForBit() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        for (long[] shape : new long[][] {{5, 7}, {128, 96}, {513, 300}}) check(seed, r, shape, 64, false);
    }

    private void check(long seed, SplittableRandom r, long[] dims, int blocksize, boolean dq) {
        try (Arena arena = Arena.ofShared()) {
            Shape shape = Shape.of(dims);
            int n = Math.toIntExact(shape.numel());
            // Per-row scales spread over a few decades so the absmax codes use their range.
            float[] w = new float[n];
            for (int i = 0; i < n; i++) w[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextDouble(-3, 1)));
            Tensor weight = Tensor.of(DType.BF16, shape, w, arena);
            Nf4Tensor q = Nf4Tensor.quantize(weight, blocksize, dq, arena);
            short[] want = q.dequantize(DType.BF16, arena).data().toArray(java.lang.foreign.ValueLayout.JAVA_SHORT);
            Nf4DequantKernels kernels = new Nf4DequantKernels(api);
            try (Nf4DequantKernels.Weight dw = Nf4DequantKernels.Weight.upload(api, q)) {
                for (int poison : GpuParity.POISONS) {
                    try (DeviceBuffer out = GpuParity.poisoned(api, 2L * n, poison)) {
                        kernels.dequantizeBf16(dw, out);
                        short[] got = GpuParity.downloadU16(arena, out, n);
                        for (int i = 0; i < n; i++) {
                            if (got[i] != want[i]) {
                                throw new AssertionError(String.format(
                                        "NF4 dequant seed=%d shape=%s blocksize=%d doubleQuant=%b poison=0x%02X: first"
                                                + " mismatch at %d (block %d): want bf16 0x%04X got 0x%04X",
                                        seed, shape, blocksize, dq, poison, i, i / blocksize, want[i], got[i]));
                            }
                        }
                    }
                }
            }
        }
    }
}
