package jlora.quant;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jlora.tensor.HalfFloats;

/**
 * Quantizes rows of floats into ggml's block formats and back. The block layouts are ggml's
 * (ggml-common.h), all little-endian; the quantizers for F16/BF16/Q8_0/Q5_0 are the reference
 * ones of ggml-quants.c ({@code quantize_row_*_ref}) and give the same bytes. Q4_K and Q6_K are
 * in {@link KQuants}.
 */
public final class GgmlQuants {
    private GgmlQuants() {}

    /** Appends the encoding of {@code n} floats from {@code src[off..]} to {@code dst} (little-endian). */
    public static void quantize(GgmlType type, float[] src, int off, int n, ByteBuffer dst) {
        dst.order(ByteOrder.LITTLE_ENDIAN);
        type.byteSize(n);
        switch (type) {
            case F32 -> { for (int i = 0; i < n; i++) dst.putFloat(src[off + i]); }
            case F16 -> { for (int i = 0; i < n; i++) dst.putShort(HalfFloats.f32ToF16(src[off + i])); }
            case BF16 -> { for (int i = 0; i < n; i++) dst.putShort(HalfFloats.f32ToBf16(src[off + i])); }
            case Q8_0 -> { for (int b = 0; b < n; b += 32) q8_0(src, off + b, dst); }
            case Q5_0 -> { for (int b = 0; b < n; b += 32) q5_0(src, off + b, dst); }
            case Q4_K -> { for (int b = 0; b < n; b += 256) KQuants.q4K(src, off + b, dst); }
            case Q6_K -> { for (int b = 0; b < n; b += 256) KQuants.q6K(src, off + b, dst); }
        }
    }

    /** Decodes {@code n} elements from {@code src} (at its position, advanced) into {@code dst[off..]}. */
    public static void dequantize(GgmlType type, ByteBuffer src, int n, float[] dst, int off) {
        src.order(ByteOrder.LITTLE_ENDIAN);
        type.byteSize(n);
        switch (type) {
            case F32 -> { for (int i = 0; i < n; i++) dst[off + i] = src.getFloat(); }
            case F16 -> { for (int i = 0; i < n; i++) dst[off + i] = HalfFloats.f16ToF32(src.getShort()); }
            case BF16 -> { for (int i = 0; i < n; i++) dst[off + i] = HalfFloats.bf16ToF32(src.getShort()); }
            case Q8_0 -> { for (int b = 0; b < n; b += 32) dq8_0(src, dst, off + b); }
            case Q5_0 -> { for (int b = 0; b < n; b += 32) dq5_0(src, dst, off + b); }
            case Q4_K -> { for (int b = 0; b < n; b += 256) KQuants.dq4K(src, dst, off + b); }
            case Q6_K -> { for (int b = 0; b < n; b += 256) KQuants.dq6K(src, dst, off + b); }
        }
    }

    /** Q8_0: d = amax / 127 (stored f16), q = round(x / d) with the f32 d, as quantize_row_q8_0_ref. */
    static void q8_0(float[] x, int o, ByteBuffer dst) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[o + i]));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        dst.putShort(HalfFloats.f32ToF16(d));
        for (int i = 0; i < 32; i++) dst.put((byte) roundAway(x[o + i] * id));
    }

    static void dq8_0(ByteBuffer src, float[] y, int o) {
        float d = HalfFloats.f16ToF32(src.getShort());
        for (int i = 0; i < 32; i++) y[o + i] = d * src.get();
    }

    /**
     * Q5_0: the signed value of largest magnitude maps to -16 (d = max / -16), codes 0..31 hold
     * q + 16; element j's low nibble sits in qs[j % 16] (low half for j < 16), its fifth bit in
     * bit j of the 32-bit qh, as quantize_row_q5_0_ref.
     */
    static void q5_0(float[] x, int o, ByteBuffer dst) {
        float amax = 0, max = 0;
        for (int i = 0; i < 32; i++) {
            float v = x[o + i];
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -16f;
        float id = d != 0 ? 1f / d : 0f;
        dst.putShort(HalfFloats.f32ToF16(d));
        int qh = 0;
        byte[] qs = new byte[16];
        for (int j = 0; j < 16; j++) {
            int x0 = Math.min(31, (int) (x[o + j] * id + 16.5f));
            int x1 = Math.min(31, (int) (x[o + 16 + j] * id + 16.5f));
            qs[j] = (byte) ((x0 & 0xF) | ((x1 & 0xF) << 4));
            qh |= ((x0 & 0x10) >> 4) << j;
            qh |= ((x1 & 0x10) >> 4) << (j + 16);
        }
        dst.putInt(qh);
        dst.put(qs);
    }

    static void dq5_0(ByteBuffer src, float[] y, int o) {
        float d = HalfFloats.f16ToF32(src.getShort());
        int qh = src.getInt();
        for (int j = 0; j < 16; j++) {
            int q = src.get() & 0xFF;
            int x0 = ((q & 0xF) | (((qh >>> j) & 1) << 4)) - 16;
            int x1 = ((q >>> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16;
            y[o + j] = x0 * d;
            y[o + 16 + j] = x1 * d;
        }
    }

    /** C's roundf: halves away from zero. */
    static int roundAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs(v) + 0.5f), v);
    }
}
