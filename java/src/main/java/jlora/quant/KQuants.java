package jlora.quant;

import java.nio.ByteBuffer;
import jlora.tensor.HalfFloats;

/**
 * ggml's k-quant super-blocks of 256 elements (ggml-common.h, ggml-quants.c).
 *
 * <p>Q4_K: eight sub-blocks of 32, x ≈ d·sc_j·q − dmin·m_j with q in 0..15 and 6-bit sc_j, m_j.
 * The twelve scale bytes pack them as {@code get_scale_min_k4} reads them: for j &lt; 4,
 * sc_j = s[j] &amp; 63 and m_j = s[j+4] &amp; 63; for j ≥ 4, the low four bits come from
 * s[j+4] (sc low nibble, m high nibble) and the top two bits from bits 6-7 of s[j-4] (sc) and
 * s[j] (m). Nibbles: element 64c + l (l &lt; 32) is the low nibble of qs[32c + l], element
 * 64c + 32 + l its high nibble.
 *
 * <p>Q6_K: sixteen sub-blocks of 16, x ≈ d·sc_i·(q − 32) with q in 0..63 and int8 sc_i. Of the
 * 128 elements of half h, element 32k + l (k = 0..3, l &lt; 32) keeps its low four bits in
 * ql[64h + l + 32(k &amp; 1)] (low nibble for k &lt; 2, high for k ≥ 2) and its top two bits in
 * bits 2k..2k+1 of qh[32h + l].
 *
 * <p>Scale search: llama.cpp's {@code make_qkx2_quants} / {@code make_qx_quants} search a range
 * of candidate scales for the least weighted squared error. Here the scales are the plain
 * min/max ones (Q4_K: sc = (max − min)/15 with min clamped to ≤ 0, as llama.cpp clamps it;
 * Q6_K: sc = signed-absmax / −32), followed by the same 6-/8-bit scale quantization and the
 * same re-rounding of every element against the stored scales. The bytes are a valid encoding
 * that llama.cpp decodes exactly as {@link #dq4K}/{@link #dq6K} do; the error is a little
 * larger than llama.cpp's own quantizer would give (bounded in KQuantsTest).
 */
final class KQuants {
    private KQuants() {}

    static void q4K(float[] x, int o, ByteBuffer dst) {
        float[] scales = new float[8];
        float[] mins = new float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float mn = x[o + 32 * j], mx = mn;
            for (int i = 1; i < 32; i++) {
                float v = x[o + 32 * j + i];
                mn = Math.min(mn, v);
                mx = Math.max(mx, v);
            }
            if (mn > 0) mn = 0;
            scales[j] = (mx - mn) / 15f;
            mins[j] = -mn;
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        int[] ls = new int[8];
        int[] lm = new int[8];
        byte[] s = new byte[12];
        for (int j = 0; j < 8; j++) {
            ls[j] = Math.min(63, nearestInt(invScale * scales[j]));
            lm[j] = Math.min(63, nearestInt(invMin * mins[j]));
            if (j < 4) {
                s[j] = (byte) ls[j];
                s[j + 4] = (byte) lm[j];
            } else {
                s[j + 4] = (byte) ((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
                s[j - 4] |= (byte) ((ls[j] >> 4) << 6);
                s[j] |= (byte) ((lm[j] >> 4) << 6);
            }
        }
        short dBits = HalfFloats.f32ToF16(maxScale / 63f);
        short dminBits = HalfFloats.f32ToF16(maxMin / 63f);
        float d = HalfFloats.f16ToF32(dBits), dmin = HalfFloats.f16ToF32(dminBits);
        int[] q = new int[256];
        for (int j = 0; j < 8; j++) {
            float dj = d * ls[j];
            if (dj == 0) continue;
            float dm = dmin * lm[j];
            for (int i = 0; i < 32; i++) {
                q[32 * j + i] = clamp(nearestInt((x[o + 32 * j + i] + dm) / dj), 0, 15);
            }
        }
        dst.putShort(dBits).putShort(dminBits).put(s);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) dst.put((byte) (q[64 * c + l] | (q[64 * c + 32 + l] << 4)));
        }
    }

    /** The 6-bit scale and min of sub-block j from the twelve packed bytes (get_scale_min_k4). */
    static int[] scaleMin(byte[] s, int j) {
        if (j < 4) return new int[] {s[j] & 63, s[j + 4] & 63};
        int sc = (s[j + 4] & 0xF) | (((s[j - 4] & 0xFF) >> 6) << 4);
        int m = ((s[j + 4] & 0xFF) >> 4) | (((s[j] & 0xFF) >> 6) << 4);
        return new int[] {sc, m};
    }

    static void dq4K(ByteBuffer src, float[] y, int o) {
        float d = HalfFloats.f16ToF32(src.getShort());
        float dmin = HalfFloats.f16ToF32(src.getShort());
        byte[] s = new byte[12];
        src.get(s);
        byte[] qs = new byte[128];
        src.get(qs);
        for (int c = 0; c < 4; c++) {
            int[] a = scaleMin(s, 2 * c), b = scaleMin(s, 2 * c + 1);
            float d1 = d * a[0], m1 = dmin * a[1], d2 = d * b[0], m2 = dmin * b[1];
            for (int l = 0; l < 32; l++) {
                int q = qs[32 * c + l] & 0xFF;
                y[o + 64 * c + l] = d1 * (q & 0xF) - m1;
                y[o + 64 * c + 32 + l] = d2 * (q >> 4) - m2;
            }
        }
    }

    static void q6K(float[] x, int o, ByteBuffer dst) {
        float[] scales = new float[16];
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float amax = 0, max = 0;
            for (int i = 0; i < 16; i++) {
                float v = x[o + 16 * ib + i];
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            // the largest magnitude maps to -32, the end of the asymmetric range -32..31
            scales[ib] = max / -32f;
            if (Math.abs(scales[ib]) > maxAbsScale) {
                maxAbsScale = Math.abs(scales[ib]);
                maxScale = scales[ib];
            }
        }
        byte[] sc = new byte[16];
        int[] q = new int[256];
        java.util.Arrays.fill(q, 32);
        short dBits = 0;
        if (maxAbsScale > 0) {
            float iscale = -128f / maxScale;
            dBits = HalfFloats.f32ToF16(1f / iscale);
            for (int ib = 0; ib < 16; ib++) sc[ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
            float d = HalfFloats.f16ToF32(dBits);
            for (int ib = 0; ib < 16; ib++) {
                float di = d * sc[ib];
                if (di == 0) continue;
                for (int i = 0; i < 16; i++) {
                    q[16 * ib + i] = clamp(nearestInt(x[o + 16 * ib + i] / di), -32, 31) + 32;
                }
            }
        }
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        for (int h = 0; h < 2; h++) {
            int e = 128 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = q[e + l], q2 = q[e + 32 + l], q3 = q[e + 64 + l], q4 = q[e + 96 + l];
                ql[64 * h + l] = (byte) ((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[64 * h + 32 + l] = (byte) ((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[32 * h + l] = (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
        dst.put(ql).put(qh).put(sc).putShort(dBits);
    }

    static void dq6K(ByteBuffer src, float[] y, int o) {
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        byte[] sc = new byte[16];
        src.get(ql).get(qh).get(sc);
        float d = HalfFloats.f16ToF32(src.getShort());
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int lo0 = ql[64 * h + l] & 0xFF, lo1 = ql[64 * h + 32 + l] & 0xFF, hi = qh[32 * h + l] & 0xFF;
                int q1 = ((lo0 & 0xF) | ((hi & 3) << 4)) - 32;
                int q2 = ((lo1 & 0xF) | (((hi >> 2) & 3) << 4)) - 32;
                int q3 = ((lo0 >> 4) | (((hi >> 4) & 3) << 4)) - 32;
                int q4 = ((lo1 >> 4) | (((hi >> 6) & 3) << 4)) - 32;
                int e = o + 128 * h + l;
                int is = 8 * h + l / 16;
                y[e] = d * sc[is] * q1;
                y[e + 32] = d * sc[is + 2] * q2;
                y[e + 64] = d * sc[is + 4] * q3;
                y[e + 96] = d * sc[is + 6] * q4;
            }
        }
    }

    /** Round half to even, as ggml's nearest_int (the 1.5·2^23 float trick). */
    static int nearestInt(float v) {
        return (int) Math.rint(v);
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
