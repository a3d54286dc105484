package jlora.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import jlora.tensor.HalfFloats;
import org.junit.jupiter.api.Test;

/**
 * ggml block formats. Layout: blocks built by hand from the field descriptions in ggml-common.h
 * (byte offsets, nibble and bit positions written out here independently of the decoder)
 * must decode to the values the description gives, exactly. Quantizers: a round trip of fresh
 * Gaussian rows stays within the bound each algorithm guarantees (derived per test), and
 * re-encoding a decoded block reproduces its bytes where the format is exact (Q8_0).
 */
class GgmlQuantsTest {
    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float[] decode(GgmlType t, ByteBuffer b, int n) {
        float[] y = new float[n];
        GgmlQuants.dequantize(t, b.flip(), n, y, 0);
        return y;
    }

    @Test
    void q8_0HandBuiltBlock() {
        ByteBuffer b = le(34);
        b.putShort(HalfFloats.f32ToF16(0.25f));
        float[] want = new float[32];
        for (int i = 0; i < 32; i++) {
            int q = (i * 37) % 255 - 127;
            b.put((byte) q);
            want[i] = 0.25f * q;
        }
        assertArrayEquals(want, decode(GgmlType.Q8_0, b, 32));
    }

    @Test
    void q5_0HandBuiltBlock() {
        // d (f16), qh: u32 whose bit j is the fifth bit of element j, qs[16]: element j < 16 in
        // the low nibble of qs[j], element 16 + j in its high nibble; value = d * (q - 16).
        int[] q = new int[32];
        for (int i = 0; i < 32; i++) q[i] = (i * 11 + 3) % 32;
        ByteBuffer b = le(22).putShort(HalfFloats.f32ToF16(-0.5f));
        int qh = 0;
        for (int j = 0; j < 32; j++) qh |= ((q[j] >> 4) & 1) << j;
        b.putInt(qh);
        for (int j = 0; j < 16; j++) b.put((byte) ((q[j] & 15) | ((q[16 + j] & 15) << 4)));
        float[] want = new float[32];
        for (int i = 0; i < 32; i++) want[i] = -0.5f * (q[i] - 16);
        assertArrayEquals(want, decode(GgmlType.Q5_0, b, 32));
    }

    @Test
    void q4KHandBuiltBlock() {
        // d, dmin (f16), scales[12], qs[128]. Sub-block j (elements 32j..32j+31) has 6-bit scale
        // sc_j and min m_j: j < 4 in the low 6 bits of scales[j] / scales[j+4]; j >= 4 split
        // into a low nibble in scales[j+4] (sc low, m high) and the top 2 bits in bits 6-7 of
        // scales[j-4] (sc) / scales[j] (m). Element 64c + l: low nibble of qs[32c + l] (l < 32),
        // element 64c + 32 + l: its high nibble. value = d*sc_j*q - dmin*m_j.
        int[] sc = {1, 63, 17, 40, 5, 33, 62, 48};
        int[] m = {0, 7, 63, 21, 50, 1, 34, 16};
        byte[] s = new byte[12];
        for (int j = 0; j < 4; j++) {
            s[j] = (byte) (sc[j] | ((sc[j + 4] >> 4) << 6));
            s[j + 4] = (byte) (m[j] | ((m[j + 4] >> 4) << 6));
            s[j + 8] = (byte) ((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
        }
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) q[i] = (i * 7 + i / 16) % 16;
        ByteBuffer b = le(144).putShort(HalfFloats.f32ToF16(0.125f)).putShort(HalfFloats.f32ToF16(0.0625f)).put(s);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) b.put((byte) (q[64 * c + l] | (q[64 * c + 32 + l] << 4)));
        }
        float[] want = new float[256];
        for (int i = 0; i < 256; i++) want[i] = 0.125f * sc[i / 32] * q[i] - 0.0625f * m[i / 32];
        assertArrayEquals(want, decode(GgmlType.Q4_K, b, 256));
    }

    @Test
    void q6KHandBuiltBlock() {
        // ql[128], qh[64], scales[16] (int8), d (f16). In half h (elements 128h..), element
        // 128h + 32k + l (k = 0..3) has its low 4 bits in ql[64h + l + 32(k & 1)], low nibble
        // for k < 2 and high for k >= 2, and bits 4-5 in bits 2k..2k+1 of qh[32h + l].
        // value = d * scales[e / 16] * (q - 32).
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) q[i] = (i * 29 + 5) % 64;
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        for (int e = 0; e < 256; e++) {
            int h = e / 128, k = (e % 128) / 32, l = e % 32;
            int at = 64 * h + l + 32 * (k & 1);
            ql[at] |= (byte) ((q[e] & 15) << (k >= 2 ? 4 : 0));
            qh[32 * h + l] |= (byte) (((q[e] >> 4) & 3) << (2 * k));
        }
        byte[] sc = {1, -1, 127, -128, 3, -7, 64, 0, 12, -50, 99, 2, -3, 45, -90, 8};
        ByteBuffer b = le(210).put(ql).put(qh).put(sc).putShort(HalfFloats.f32ToF16(0.5f));
        float[] want = new float[256];
        for (int e = 0; e < 256; e++) want[e] = 0.5f * sc[e / 16] * (q[e] - 32);
        assertArrayEquals(want, decode(GgmlType.Q6_K, b, 256));
    }

    @Test
    void q8_0RoundTripAndReencode() {
        long seed = QuantChecks.freshSeed();
        float[] x = QuantChecks.gaussian(new Random(seed), 32 * 64, 1f);
        ByteBuffer b = le((int) GgmlType.Q8_0.byteSize(x.length));
        GgmlQuants.quantize(GgmlType.Q8_0, x, 0, x.length, b);
        byte[] bytes = b.array().clone();
        float[] y = decode(GgmlType.Q8_0, b, x.length);
        // |x - d*q| <= d/2 with the f32 d; the stored f16 d adds at most 127 * |d - f16(d)|
        float[] bound = new float[x.length];
        for (int blk = 0; blk < x.length; blk += 32) {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[blk + i]));
            float d = amax / 127f;
            float df = Math.abs(d - HalfFloats.f16ToF32(HalfFloats.f32ToF16(d)));
            for (int i = 0; i < 32; i++) bound[blk + i] = d / 2 * 1.0001f + 127 * df;
        }
        QuantChecks.assertWithin(x, y, bound, "Q8_0 seed " + seed);
        // decoded values are exact multiples of the stored d: encoding them again is the identity
        ByteBuffer again = le(bytes.length);
        GgmlQuants.quantize(GgmlType.Q8_0, y, 0, y.length, again);
        assertArrayEquals(bytes, again.array(), "Q8_0 re-encode, seed " + seed);
    }

    @Test
    void q5_0RoundTrip() {
        long seed = QuantChecks.freshSeed();
        float[] x = QuantChecks.gaussian(new Random(seed), 32 * 64, 1f);
        ByteBuffer b = le((int) GgmlType.Q5_0.byteSize(x.length));
        GgmlQuants.quantize(GgmlType.Q5_0, x, 0, x.length, b);
        float[] y = decode(GgmlType.Q5_0, b, x.length);
        // d = amax/16 with the largest magnitude at -16: rounding costs <= d/2, but a value of
        // the other sign near amax clamps at +15 (<= d); plus the f16 rounding of d
        float[] bound = new float[x.length];
        for (int blk = 0; blk < x.length; blk += 32) {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[blk + i]));
            for (int i = 0; i < 32; i++) bound[blk + i] = amax / 16 * 1.0001f + amax * 1e-3f;
        }
        QuantChecks.assertWithin(x, y, bound, "Q5_0 seed " + seed);
    }

    @Test
    void q4KRoundTrip() {
        long seed = QuantChecks.freshSeed();
        float[] x = QuantChecks.gaussian(new Random(seed), 256 * 32, 0.05f);
        ByteBuffer b = le((int) GgmlType.Q4_K.byteSize(x.length));
        GgmlQuants.quantize(GgmlType.Q4_K, x, 0, x.length, b);
        float[] y = decode(GgmlType.Q4_K, b, x.length);
        // Sub-block scale s_j = range/15 and min m_j are stored to 6 bits of the block maxima
        // (error <= max/126 each); each element then rounds against the stored scale d_j
        // (<= d_j/2), and clamping at 0 or 15 adds at most 15·|d_j - s_j| + |dm_j - m_j|.
        float[] bound = new float[x.length];
        for (int blk = 0; blk < x.length; blk += 256) {
            float[] s = new float[8];
            float maxS = 0, maxM = 0;
            for (int j = 0; j < 8; j++) {
                float mn = 0, mx = -Float.MAX_VALUE;
                for (int i = 0; i < 32; i++) {
                    mn = Math.min(mn, x[blk + 32 * j + i]);
                    mx = Math.max(mx, x[blk + 32 * j + i]);
                }
                s[j] = (mx - mn) / 15;
                maxS = Math.max(maxS, s[j]);
                maxM = Math.max(maxM, -mn);
            }
            for (int j = 0; j < 8; j++) {
                float dj = s[j] + maxS / 126;
                for (int i = 0; i < 32; i++) bound[blk + 32 * j + i] = (dj / 2 + 15 * maxS / 126 + maxM / 126) * 1.002f;
            }
        }
        QuantChecks.assertWithin(x, y, bound, "Q4_K seed " + seed);
        assertRms(x, y, 0.12, "Q4_K seed " + seed);
    }

    @Test
    void q6KRoundTrip() {
        long seed = QuantChecks.freshSeed();
        float[] x = QuantChecks.gaussian(new Random(seed), 256 * 32, 0.05f);
        ByteBuffer b = le((int) GgmlType.Q6_K.byteSize(x.length));
        GgmlQuants.quantize(GgmlType.Q6_K, x, 0, x.length, b);
        float[] y = decode(GgmlType.Q6_K, b, x.length);
        // s_i = amax_i/32 is stored as d·sc_i with d = smax/128 (error <= d/2); elements round
        // against it (<= |d·sc_i|/2); a value of the other sign near amax_i clamps at +31 instead
        // of 32 (<= |d·sc_i|), and the scale error adds at most 32·d/2.
        float[] bound = new float[x.length];
        for (int blk = 0; blk < x.length; blk += 256) {
            float smax = 0;
            float[] s = new float[16];
            for (int i = 0; i < 16; i++) {
                for (int e = 0; e < 16; e++) s[i] = Math.max(s[i], Math.abs(x[blk + 16 * i + e]) / 32);
                smax = Math.max(smax, s[i]);
            }
            float d = smax / 128;
            for (int i = 0; i < 16; i++) {
                for (int e = 0; e < 16; e++) bound[blk + 16 * i + e] = ((s[i] + d / 2) + 16 * d) * 1.002f;
            }
        }
        QuantChecks.assertWithin(x, y, bound, "Q6_K seed " + seed);
        assertRms(x, y, 0.03, "Q6_K seed " + seed);
    }

    @Test
    void halfTypesRoundLikeHalfFloats() {
        long seed = QuantChecks.freshSeed();
        float[] x = QuantChecks.gaussian(new Random(seed), 64, 3f);
        for (GgmlType t : new GgmlType[] {GgmlType.F16, GgmlType.BF16, GgmlType.F32}) {
            ByteBuffer b = le((int) t.byteSize(x.length));
            GgmlQuants.quantize(t, x, 0, x.length, b);
            float[] y = decode(t, b, x.length);
            for (int i = 0; i < x.length; i++) {
                float want = switch (t) {
                    case F16 -> HalfFloats.f16ToF32(HalfFloats.f32ToF16(x[i]));
                    case BF16 -> HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(x[i]));
                    default -> x[i];
                };
                assertEquals(want, y[i], t + " element " + i + " seed " + seed);
            }
        }
    }

    /** Root-mean-square error relative to the input's RMS (Gaussian input). */
    private static void assertRms(float[] x, float[] y, double max, String what) {
        double se = 0, sx = 0;
        for (int i = 0; i < x.length; i++) {
            se += (x[i] - (double) y[i]) * (x[i] - (double) y[i]);
            sx += (double) x[i] * x[i];
        }
        double rel = Math.sqrt(se / sx);
        if (!(rel <= max)) throw new AssertionError(what + ": relative RMS error " + rel + " > " + max);
    }
}
