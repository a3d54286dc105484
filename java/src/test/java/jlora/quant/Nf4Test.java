package jlora.quant;

import static jlora.quant.QuantChecks.assertBitsEqual;
import static jlora.quant.QuantChecks.assertBytesEqual;
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
 * NF4 against its specification as read from bitsandbytes ({@code get_4bit_type("nf4")},
 * {@code dQuantizeNF4}, {@code kQuantizeBlockwise}): code values, decision thresholds at the
 * midpoints with ties to the lower code, high-nibble-first packing, absmax per block, and the
 * error bound half the widest code gap × absmax. Byte-exactness against bitsandbytes itself is
 * {@link Nf4GoldenTest}.
 */
class Nf4Test {
    /** The NF4 code book as bitsandbytes prints it in get_4bit_type (decimal strings, parsed here). */
    private static final String[] BNB_NF4 = {
        "-1.0", "-0.6961928009986877", "-0.5250730514526367", "-0.39491748809814453",
        "-0.28444138169288635", "-0.18477343022823334", "-0.09105003625154495", "0.0",
        "0.07958029955625534", "0.16093020141124725", "0.24611230194568634", "0.33791524171829224",
        "0.44070982933044434", "0.5626170039176941", "0.7229568362236023", "1.0",
    };

    /** The widest gap between neighbouring NF4 codes (-1.0 .. -0.6961928). */
    private static final double WIDEST_GAP = 1.0 - 0.6961928009986877;

    @Test
    void codeBookIsBitsandbytesNf4() {
        float[] code = Nf4.codeBook();
        assertEquals(16, code.length);
        for (int i = 0; i < 16; i++) {
            assertEquals(Float.floatToIntBits((float) Double.parseDouble(BNB_NF4[i])), Float.floatToIntBits(code[i]), "code " + i);
            if (i > 0) assertTrue(code[i] > code[i - 1], "code book ascending at " + i);
        }
    }

    @Test
    void thresholdsAreMidpointsBetweenCodes() {
        float[] t = Nf4.thresholds();
        for (int k = 0; k < 15; k++) {
            double mid = (Double.parseDouble(BNB_NF4[k]) + Double.parseDouble(BNB_NF4[k + 1])) / 2;
            // the kernel's literals are the double midpoints written with 16-17 digits, then cast to float
            assertEquals((float) mid, t[k], Math.ulp(t[k]), "threshold " + k);
        }
    }

    @Test
    void valueOnAThresholdGoesToTheLowerCodeAndTheNextFloatAboveToTheUpper() {
        float[] t = Nf4.thresholds();
        for (int k = 0; k < 15; k++) {
            assertEquals(k, Nf4.quantizeValue(t[k]), "x = threshold " + k);
            assertEquals(k + 1, Nf4.quantizeValue(Math.nextUp(t[k])), "x = nextUp(threshold " + k + ")");
            assertEquals(k, Nf4.quantizeValue(Math.nextDown(t[k])), "x = nextDown(threshold " + k + ")");
        }
        assertEquals(0, Nf4.quantizeValue(-1.0f));
        assertEquals(15, Nf4.quantizeValue(1.0f));
        assertEquals(7, Nf4.quantizeValue(0.0f));
        assertEquals(7, Nf4.quantizeValue(-0.0f));
        // an all-zero block is scaled by 1/0: 0 * inf = NaN, which fails every '>' in the kernel's tree
        assertEquals(0, Nf4.quantizeValue(Float.NaN));
    }

    @Test
    void branchFreeSearchEqualsTheKernelTreeEverywhere() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        float[] t = Nf4.thresholds();
        for (float th : t) {
            for (float x : new float[] {th, Math.nextUp(th), Math.nextDown(th)}) {
                assertEquals(Nf4.quantizeValue(x), Nf4.quantizeValueFast(x), "x = " + x);
            }
        }
        for (float x : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1f, -1f}) {
            assertEquals(Nf4.quantizeValue(x), Nf4.quantizeValueFast(x), "x = " + x);
        }
        for (int i = 0; i < 200_000; i++) {
            float x = i % 2 == 0 ? r.nextFloat() * 2 - 1 : Float.intBitsToFloat(r.nextInt());
            assertEquals(Nf4.quantizeValue(x), Nf4.quantizeValueFast(x), "seed " + seed + " x = " + x);
        }
    }

    @Test
    void thresholdValuesThroughAWholeBlockKeepTheTieRule() {
        // absmax is 1 (the block holds 1.0), so x * (1f / absmax) == x and ties reach the tree unchanged
        float[] t = Nf4.thresholds();
        float[] x = new float[64];
        x[0] = 1.0f;
        for (int k = 0; k < 15; k++) {
            x[1 + 2 * k] = t[k];
            x[2 + 2 * k] = Math.nextUp(t[k]);
        }
        Nf4.Packed p = Nf4.quantize(x, 64);
        assertEquals(1.0f, p.absmax()[0]);
        assertEquals(15, Nf4.nibble(p.packed(), 0));
        for (int k = 0; k < 15; k++) {
            assertEquals(k, Nf4.nibble(p.packed(), 1 + 2 * k), "threshold " + k);
            assertEquals(k + 1, Nf4.nibble(p.packed(), 2 + 2 * k), "above threshold " + k);
        }
    }

    @Test
    void handPackedBytesForATinyTensor() {
        // 5 elements, one block, absmax 2: codes 15, 0, 7, 12, 2 and a zero pad (code 7);
        // bitsandbytes puts element 2i in the high nibble: 0xF0, 0x7C, 0x27
        float[] x = {2.0f, -2.0f, 0.0f, 2 * 0.44070982933044434f, 2 * -0.5250730514526367f};
        Nf4.Packed p = Nf4.quantize(x, 64);
        assertBytesEqual(new byte[] {(byte) 0xF0, (byte) 0x7C, (byte) 0x27}, p.packed(), "packed");
        assertEquals(2.0f, p.absmax()[0]);
        float[] back = Nf4.dequantize(p.packed(), p.absmax(), 5, 64);
        assertBitsEqual(x, back, "dequantized");
    }

    @Test
    void codeTimesAbsmaxRoundTripsExactly() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        float[] code = Nf4.codeBook();
        int blocks = 9;
        int n = blocks * 64;
        float[] x = new float[n];
        int[] q = new int[n];
        for (int b = 0; b < blocks; b++) {
            float absmax = (float) Math.exp(r.nextGaussian() * 3);
            for (int k = 0; k < 64; k++) {
                int i = b * 64 + k;
                // one element per block pins absmax (code 0 or 15 is ±1)
                q[i] = k == 5 ? (r.nextBoolean() ? 0 : 15) : r.nextInt(16);
                x[i] = code[q[i]] * absmax;
            }
        }
        Nf4.Packed p = Nf4.quantize(x, 64);
        for (int i = 0; i < n; i++) {
            assertEquals(q[i], Nf4.nibble(p.packed(), i), "seed " + seed + " element " + i + " x=" + x[i]);
        }
        assertBitsEqual(x, Nf4.dequantize(p.packed(), p.absmax(), n, 64), "seed " + seed + " round trip");
    }

    @Test
    void randomTensorWithPartialLastBlockStaysWithinHalfTheWidestGap() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        int n = 64 * 11 + 37; // odd, and the last block is partial
        float[] x = QuantChecks.gaussian(r, n, 0.02f);
        x[r.nextInt(n)] = 0.5f; // an outlier block
        Nf4.Packed p = Nf4.quantize(x, 64);
        assertEquals(Math.ceilDiv(n, 2), p.packed().length);
        assertEquals(Math.ceilDiv(n, 64), p.absmax().length);
        float[] bound = new float[n];
        for (int b = 0; b < p.absmax().length; b++) {
            float m = 0;
            for (int i = b * 64; i < Math.min(n, b * 64 + 64); i++) m = Math.max(m, Math.abs(x[i]));
            assertEquals(m, p.absmax()[b], "seed " + seed + " absmax of block " + b);
            for (int i = b * 64; i < Math.min(n, b * 64 + 64); i++) bound[i] = (float) (WIDEST_GAP / 2 * m * (1 + 1e-6));
        }
        assertWithin(x, Nf4.dequantize(p.packed(), p.absmax(), n, 64), bound, "seed " + seed + " |dequant - x|");
        // the last byte's low nibble is the kernel's zero padding: code 7 (0.0)
        assertEquals(7, p.packed()[p.packed().length - 1] & 0x0F);
    }

    @Test
    void allZeroBlockTakesTheKernelNaNPath() {
        float[] x = new float[128];
        x[70] = 3.0f; // second block non-zero, first all zeros
        Nf4.Packed p = Nf4.quantize(x, 64);
        assertEquals(0.0f, p.absmax()[0]);
        for (int i = 0; i < 64; i++) assertEquals(0, Nf4.nibble(p.packed(), i), "element " + i);
        float[] back = Nf4.dequantize(p.packed(), p.absmax(), 128, 64);
        for (int i = 0; i < 64; i++) assertEquals(-0.0f, back[i], "element " + i + " (-1 * 0)");
    }

    @Test
    void bf16OutputIsTheF32OutputRoundedToNearestEven() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        int n = 64 * 5 + 3;
        float[] x = QuantChecks.gaussian(r, n, 1.7f);
        Nf4.Packed p = Nf4.quantize(x, 64);
        float[] f32 = Nf4.dequantize(p.packed(), p.absmax(), n, 64);
        short[] bf16 = Nf4.dequantizeBf16(p.packed(), p.absmax(), n, 64);
        for (int i = 0; i < n; i++) {
            assertEquals(QuantChecks.bf16Rne(f32[i]), bf16[i], "seed " + seed + " element " + i + " f32 " + f32[i]);
        }
    }

    @Test
    void tensorPathMatchesTheArrayPathForBf16Weights() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            float[] x = QuantChecks.gaussian(r, 40 * 24, 0.05f);
            Tensor w = Tensor.of(DType.BF16, Shape.of(40, 24), x, arena);
            float[] widened = w.toFloatArray(); // what the kernel reads: bf16 values as float
            Nf4Tensor t = Nf4Tensor.quantize(w, 64, false, arena);
            Nf4.Packed p = Nf4.quantize(widened, 64);
            assertBytesEqual(p.packed(), t.packedBytes(), "seed " + seed + " packed");
            assertBitsEqual(p.absmax(), t.absmaxF32(), "seed " + seed + " absmax");
            assertEquals(Shape.of(480, 1), t.packed().shape());
            assertEquals(Shape.of(40, 24), t.nf4View().shape());
            assertEquals(DType.NF4, t.nf4View().dtype());
            Tensor deq = t.dequantize(arena);
            assertEquals(DType.BF16, deq.dtype());
            assertEquals(Shape.of(40, 24), deq.shape());
            short[] want = Nf4.dequantizeBf16(p.packed(), p.absmax(), x.length, 64);
            for (int i = 0; i < x.length; i++) {
                assertEquals(want[i], (short) deq.data().get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 2L * i),
                        "seed " + seed + " element " + i);
            }
        }
    }

    @Test
    void parallelQuantizeOnSharedMemoryMatchesTheArrayPath() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            int rows = 2 * 4096 + 3, cols = 64; // more than one 4096-block chunk, so the tasks run in parallel
            float[] x = QuantChecks.gaussian(r, rows * cols, 0.03f);
            Tensor w = Tensor.of(DType.F32, Shape.of(rows, cols), x, arena);
            Nf4Tensor t = Nf4Tensor.quantize(w, 64, false, arena);
            Nf4.Packed p = Nf4.quantize(x, 64);
            assertBytesEqual(p.packed(), t.packedBytes(), "seed " + seed + " packed");
            assertBitsEqual(p.absmax(), t.absmaxF32(), "seed " + seed + " absmax");
        }
    }
}
