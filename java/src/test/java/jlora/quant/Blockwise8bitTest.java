package jlora.quant;

import static jlora.quant.QuantChecks.assertWithin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The dynamic map against properties pinned from bitsandbytes' {@code create_dynamic_map}
 * (count, order, 0 and 1.0 present, the published minimum -0.992968738, the decade structure
 * {@code 10^(i-6) * midpoints of linspace(0.1, 1, 2^i + 1)}), and the 8-bit quantizer against an
 * independent brute-force search: the code interval that holds x, split at the fp32 midpoint,
 * a tie going to the even index (the leaf the kernel's binary search ends on).
 */
class Blockwise8bitTest {

    @Test
    void signedMapHasTheStructureOfCreateDynamicMap() {
        for (DynamicMap.LinspaceKernel k : DynamicMap.LinspaceKernel.values()) {
            float[] m = DynamicMap.create(true, k);
            assertEquals(256, m.length, k + " size");
            for (int i = 1; i < 256; i++) assertTrue(m[i] > m[i - 1], k + " strictly ascending at " + i);
            assertEquals(1.0f, m[255], k + " max");
            assertEquals(0.0f, m[127], k + " zero at index 127");
            // the minimum is -(last midpoint of linspace(0.1, 1, 65)) = -0.99296875 in fp32; printed as -0.992968738
            assertEquals("-0.992968738", String.format("%.9f", m[0]), k + " min");
            for (int i = 0; i < 127; i++) assertEquals(-m[254 - i], m[i], k + " symmetric at " + i);
            // decade i holds 2^i positive values in [0.1, 1) * 10^(i-6), each a midpoint of an even split
            int idx = 128;
            for (int dec = 0; dec < 7; dec++) {
                int count = 1 << dec;
                double scale = Math.pow(10, dec - 6);
                for (int j = 0; j < count; j++, idx++) {
                    double want = scale * (0.1 + 0.9 * (2 * j + 1) / (2.0 * count));
                    assertEquals(want, m[idx], 4 * Math.ulp(m[idx]), k + " decade " + dec + " value " + j);
                }
            }
            assertEquals(255, idx);
        }
    }

    @Test
    void linspaceKernelsDifferByAtMostTwoUlps() {
        float[] s = DynamicMap.create(true, DynamicMap.LinspaceKernel.SCALAR);
        for (DynamicMap.LinspaceKernel k : DynamicMap.LinspaceKernel.values()) {
            float[] m = DynamicMap.create(true, k);
            for (int i = 0; i < 256; i++) assertTrue(Math.abs(m[i] - s[i]) <= 2 * Math.ulp(s[i]), k + " entry " + i);
        }
        float[] u = DynamicMap.unsigned();
        assertEquals(256, u.length);
        assertEquals(0.0f, u[0]);
        assertEquals(1.0f, u[255]);
        for (int i = 1; i < 256; i++) assertTrue(u[i] > u[i - 1], "unsigned ascending at " + i);
    }

    @Test
    void everyCodeValueMapsToItsOwnIndex() {
        float[] m = DynamicMap.signed();
        for (int i = 0; i < 256; i++) assertEquals(i, Blockwise8bit.quantizeValue(m, m[i]), "code " + i + " = " + m[i]);
        assertEquals(0, Blockwise8bit.quantizeValue(m, -1.0f), "a negative absmax element normalises to -1");
        assertEquals(0, Blockwise8bit.quantizeValue(m, Float.NaN), "NaN walks down to index 0");
    }

    @Test
    void searchAgreesWithBruteForceIncludingMidpointTies() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        float[] m = DynamicMap.signed();
        for (int j = 0; j < 255; j++) {
            float mid = (m[j] + m[j + 1]) * 0.5f;
            for (float x : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                assertEquals(bruteForce(m, x), Blockwise8bit.quantizeValue(m, x), "x = " + x + " near midpoint " + j);
            }
        }
        for (int t = 0; t < 20000; t++) {
            float x = (float) (r.nextBoolean() ? r.nextDouble() * 2 - 1 : Math.copySign(Math.pow(10, -7 * r.nextDouble()), r.nextDouble() - 0.5));
            assertEquals(bruteForce(m, x), Blockwise8bit.quantizeValue(m, x), "seed " + seed + " x = " + x);
        }
    }

    /** Independent of the kernel's search: locate x's interval, split at the fp32 midpoint, ties to the even index. */
    private static int bruteForce(float[] m, float x) {
        if (x <= m[0]) return 0;
        if (x >= m[255]) return 255;
        int j = 0;
        while (!(m[j] <= x && x <= m[j + 1])) j++;
        if (x == m[j]) return j;
        if (x == m[j + 1]) return j + 1;
        float mid = (m[j] + m[j + 1]) * 0.5f;
        if (x < mid) return j;
        if (x > mid) return j + 1;
        return (j & 1) == 0 ? j : j + 1;
    }

    @Test
    void blockwiseRoundTripIsWithinHalfTheLocalGap() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        float[] m = DynamicMap.signed();
        int blocksize = 256;
        int n = blocksize * 3 + 77;
        float[] x = QuantChecks.gaussian(r, n, 1e-3f);
        Blockwise8bit.Quantized q = Blockwise8bit.quantize(x, m, blocksize);
        assertEquals(Math.ceilDiv(n, blocksize), q.absmax().length);
        float[] back = Blockwise8bit.dequantize(q.q(), q.absmax(), m, blocksize);
        float[] bound = new float[n];
        for (int i = 0; i < n; i++) {
            float a = q.absmax()[i / blocksize];
            float xn = x[i] / a;
            // half the gap of the code interval holding x/absmax, scaled back, plus fp32 rounding slack
            int j = 0;
            while (j < 254 && m[j + 1] < xn) j++;
            double gap = (xn < m[0]) ? m[0] - xn : (m[j + 1] - m[j]) / 2.0;
            bound[i] = (float) (gap * a * (1 + 1e-5) + 4 * Math.ulp(x[i]));
        }
        for (int b = 0; b < q.absmax().length; b++) {
            float mx = 0;
            for (int i = b * blocksize; i < Math.min(n, (b + 1) * blocksize); i++) mx = Math.max(mx, Math.abs(x[i]));
            assertEquals(mx, q.absmax()[b], "seed " + seed + " absmax of block " + b);
        }
        assertWithin(x, back, bound, "seed " + seed + " |dequant - x|");
    }
}
