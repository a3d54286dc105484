package jlora.quant;

import static jlora.quant.QuantChecks.assertWithin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;

import org.junit.jupiter.api.Test;

import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Double quantization as bitsandbytes' {@code quantize_4bit(compress_statistics=True)} defines it:
 * offset = mean(absmax), {@code absmax - offset} in 8-bit blocks of 256 with the signed dynamic
 * map, rebuilt as {@code code[q] * nested_absmax + offset}. Checked against a double-precision
 * mean and the error bound (half the widest dynamic-map gap × nested absmax, plus fp32 rounding).
 */
class DoubleQuantTest {

    private static double widestHalfGap(float[] map) {
        double g = 0;
        for (int i = 1; i < map.length; i++) g = Math.max(g, (map[i] - (double) map[i - 1]) / 2);
        return g;
    }

    @Test
    void offsetIsTheMeanAndAbsmaxIsRebuiltWithinTheMapResolution() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        int blocks = 256 * 2 + 101; // three nested blocks, the last partial
        float[] absmax = new float[blocks];
        for (int i = 0; i < blocks; i++) absmax[i] = (float) Math.abs(r.nextGaussian() * 0.05 + 0.08);
        double mean = 0;
        for (float a : absmax) mean += a;
        mean /= blocks;
        DoubleQuant.Nested n = DoubleQuant.quantize(absmax, DynamicMap.signed());
        assertEquals((float) mean, n.offset(), "seed " + seed + " offset");
        assertEquals(256, n.blocksize());
        assertEquals(3, n.nestedAbsmax().length);
        float[] rebuilt = DoubleQuant.dequantize(n);
        double half = widestHalfGap(DynamicMap.signed());
        float[] bound = new float[blocks];
        for (int i = 0; i < blocks; i++) {
            float nested = n.nestedAbsmax()[i / 256];
            // the nested absmax is max |absmax - offset| over its block
            bound[i] = (float) (half * nested * (1 + 1e-5) + 2 * Math.ulp(absmax[i]));
        }
        assertWithin(absmax, rebuilt, bound, "seed " + seed + " rebuilt absmax");
        for (int b = 0; b < 3; b++) {
            float mx = 0;
            for (int i = b * 256; i < Math.min(blocks, (b + 1) * 256); i++) mx = Math.max(mx, Math.abs(absmax[i] - n.offset()));
            assertEquals(mx, n.nestedAbsmax()[b], "seed " + seed + " nested absmax " + b);
        }
    }

    @Test
    void doubleQuantizedWeightDequantizesWithinNf4PlusAbsmaxError() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            int rows = 300, cols = 64; // 300 blocks of 64: two nested blocks
            float[] x = QuantChecks.gaussian(r, rows * cols, 0.02f);
            Tensor w = Tensor.of(DType.F32, Shape.of(rows, cols), x, arena);
            Nf4Tensor plain = Nf4Tensor.quantize(w, 64, false, arena);
            Nf4Tensor dq = Nf4Tensor.quantize(w, 64, true, arena);
            assertTrue(dq.nested().isPresent());
            assertEquals(DType.U8, dq.absmax().dtype());
            QuantChecks.assertBytesEqual(plain.packedBytes(), dq.packedBytes(), "seed " + seed + " packed nibbles do not depend on double quant");
            float[] exact = plain.absmaxF32();
            float[] rebuilt = dq.absmaxF32();
            float[] deq = dq.dequantize(arena).toFloatArray();
            float[] bound = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                int b = i / 64;
                bound[i] = (float) ((1.0 - 0.6961928009986877) / 2 * exact[b] * (1 + 1e-6) + Math.abs(rebuilt[b] - exact[b]) + Math.ulp(x[i]));
            }
            assertWithin(x, deq, bound, "seed " + seed + " |dequant - x|");
        }
    }
}
