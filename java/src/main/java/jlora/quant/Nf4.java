package jlora.quant;

import jlora.tensor.HalfFloats;

/**
 * 4-bit NormalFloat (QLoRA), bit-compatible with bitsandbytes' CUDA kernels
 * ({@code kQuantizeBlockwise<T, 64, 2, 0, NF4>} and {@code kDequantizeBlockwise<T, .., NF4>} in
 * {@code csrc/kernels.cu}).
 *
 * <p>Per block of {@code blocksize} consecutive elements of the row-major flattened weight:
 * {@code absmax = max |x|} (fp32), then each element is scaled by the fp32 reciprocal
 * {@code x * (1f / absmax)} (a multiply, not a divide, as the kernel does; see {@link Reciprocal}
 * for the GPU's fast-math reciprocal) and mapped to a
 * 4-bit index by the decision tree of {@code dQuantizeNF4}. Two indices share a byte: element
 * {@code 2i} in the high nibble, {@code 2i+1} in the low nibble. A trailing odd element is
 * paired with a padding zero (quantized like the kernel's zero-filled load). Dequantization
 * is {@code CODE[q] * absmax} in fp32, rounded once to the output type.
 */
public final class Nf4 {
    private Nf4() {}

    /** bitsandbytes' default NF4 block size ({@code quantize_4bit(blocksize=64)}). */
    public static final int DEFAULT_BLOCKSIZE = 64;

    /**
     * The NF4 code book: {@code nf4_dequantization_lut} in bitsandbytes {@code csrc/kernels.cu},
     * the same decimals as {@code get_4bit_type("nf4")} in {@code functional.py} (stored as the
     * {@code quant_map} tensor of a bnb-4bit checkpoint).
     */
    private static final float[] CODE = {
        -1.0f,
        -0.6961928009986877f,
        -0.5250730514526367f,
        -0.39491748809814453f,
        -0.28444138169288635f,
        -0.18477343022823334f,
        -0.09105003625154495f,
        0.0f,
        0.07958029955625534f,
        0.16093020141124725f,
        0.24611230194568634f,
        0.33791524171829224f,
        0.44070982933044434f,
        0.5626170039176941f,
        0.7229568362236023f,
        1.0f,
    };

    /** A copy of the 16 code-book values, index = 4-bit code. */
    public static float[] codeBook() {
        return CODE.clone();
    }

    public static float code(int q) {
        return CODE[q & 0x0F];
    }

    /**
     * bitsandbytes {@code dQuantizeNF4}: a decision tree of strict {@code >} comparisons against
     * the midpoints between neighbouring code values (the float literals of the kernel). A value
     * exactly on a threshold goes to the lower code; NaN (an all-zero block scaled by 1/0) fails
     * every comparison and becomes code 0.
     */
    public static int quantizeValue(float x) {
        if (x > 0.03979014977812767f) {
            if (x > 0.3893125355243683f) {
                if (x > 0.6427869200706482f) {
                    return x > 0.8614784181118011f ? 0b1111 : 0b1110;
                }
                return x > 0.5016634166240692f ? 0b1101 : 0b1100;
            }
            if (x > 0.2035212516784668f) {
                return x > 0.2920137718319893f ? 0b1011 : 0b1010;
            }
            return x > 0.1202552504837513f ? 0b1001 : 0b1000;
        }
        if (x > -0.33967943489551544f) {
            if (x > -0.13791173323988914f) {
                return x > -0.045525018125772476f ? 0b0111 : 0b0110;
            }
            return x > -0.23460740596055984f ? 0b0101 : 0b0100;
        }
        if (x > -0.6106329262256622f) {
            return x > -0.4599952697753906f ? 0b0011 : 0b0010;
        }
        return x > -0.8480964004993439f ? 0b0001 : 0b0000;
    }

    /**
     * The 15 decision thresholds in code order: {@code thresholds()[k]} separates code k from
     * code k+1 (values {@code > t[k]} get a code above k).
     */
    public static float[] thresholds() {
        return new float[] {
            -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
            -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
            0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
            0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f,
        };
    }

    private static final float[] T = thresholds();

    /**
     * {@link #quantizeValue} without branches on the data: a four-step binary search over the same
     * thresholds with the same strict {@code >}, so it returns the same code for every float
     * (NaN included: it fails every comparison). The hot loop uses this; the tree documents bnb.
     */
    static int quantizeValueFast(float x) {
        int q = x > T[7] ? 8 : 0;
        q += x > T[q + 3] ? 4 : 0;
        q += x > T[q + 1] ? 2 : 0;
        q += x > T[q] ? 1 : 0;
        return q;
    }

    /**
     * The per-block scale as the kernel computes it: fmaxf over |x| starting from -FLT_MAX, so a
     * NaN element is skipped (fmaxf returns the other operand) and an all-zero block gives 0.
     */
    static float absmax(float[] x, int from, int to) {
        float m = -Float.MAX_VALUE;
        for (int i = from; i < to; i++) {
            float a = Math.abs(x[i]);
            if (a > m) m = a;
        }
        return m;
    }

    /** Result of quantizing a flat array: packed nibbles ({@code ceil(n/2)} bytes) and fp32 absmax per block. */
    public record Packed(byte[] packed, float[] absmax, long numel, int blocksize) {}

    /** Quantizes {@code x} (row-major flattened) in blocks of {@code blocksize}. */
    public static Packed quantize(float[] x, int blocksize) {
        return quantize(x, blocksize, Reciprocal.IEEE);
    }

    /** As {@link #quantize(float[], int)} with the scale {@code rcp.of(absmax)} (see {@link Reciprocal}). */
    public static Packed quantize(float[] x, int blocksize, Reciprocal rcp) {
        checkBlocksize(blocksize);
        int n = x.length;
        int blocks = Math.ceilDiv(n, blocksize);
        byte[] packed = new byte[Math.ceilDiv(n, 2)];
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            int from = b * blocksize;
            int to = Math.min(n, from + blocksize);
            absmax[b] = quantizeBlock(x, from, to, packed, rcp);
        }
        return new Packed(packed, absmax, n, blocksize);
    }

    /**
     * Quantizes {@code x[from, to)} (one block; {@code from} even) into {@code packed} at byte
     * {@code from / 2} and returns the block's absmax. Elements past {@code to} inside the last
     * byte are the kernel's zero padding.
     */
    static float quantizeBlock(float[] x, int from, int to, byte[] packed, Reciprocal rcp) {
        float amax = absmax(x, from, to);
        float inv = rcp.of(amax);
        for (int i = from; i < to; i += 2) {
            int hi = quantizeValueFast(x[i] * inv);
            int lo = quantizeValueFast((i + 1 < to ? x[i + 1] : 0.0f) * inv);
            packed[i >> 1] = (byte) ((hi << 4) | lo);
        }
        return amax;
    }

    /** fp32 dequantization: {@code CODE[q] * absmax[block]}. */
    public static float[] dequantize(byte[] packed, float[] absmax, long numel, int blocksize) {
        checkBlocksize(blocksize);
        checkSizes(packed.length, absmax.length, numel, blocksize);
        float[] out = new float[Math.toIntExact(numel)];
        for (int i = 0; i < out.length; i++) {
            out[i] = dequantizeAt(packed, absmax, i, blocksize);
        }
        return out;
    }

    /** bf16 dequantization: the fp32 product rounded once to nearest even (the kernel's store to bf16). */
    public static short[] dequantizeBf16(byte[] packed, float[] absmax, long numel, int blocksize) {
        checkBlocksize(blocksize);
        checkSizes(packed.length, absmax.length, numel, blocksize);
        short[] out = new short[Math.toIntExact(numel)];
        for (int i = 0; i < out.length; i++) {
            out[i] = HalfFloats.f32ToBf16(dequantizeAt(packed, absmax, i, blocksize));
        }
        return out;
    }

    static float dequantizeAt(byte[] packed, float[] absmax, long i, int blocksize) {
        int b = packed[(int) (i >>> 1)];
        int q = (i & 1) == 0 ? (b >>> 4) & 0x0F : b & 0x0F;
        return CODE[q] * absmax[(int) (i / blocksize)];
    }

    /** The nibble of element {@code i}: high nibble for even i, low for odd (bitsandbytes order). */
    public static int nibble(byte[] packed, long i) {
        int b = packed[(int) (i >>> 1)];
        return (i & 1) == 0 ? (b >>> 4) & 0x0F : b & 0x0F;
    }

    static void checkBlocksize(int blocksize) {
        // the block sizes bitsandbytes' 4-bit kernels accept (backends/cuda/ops.py)
        switch (blocksize) {
            case 32, 64, 128, 256, 512, 1024, 2048, 4096 -> {}
            default -> throw new IllegalArgumentException("NF4 blocksize must be a power of two in 32..4096, got " + blocksize);
        }
    }

    static void checkSizes(long packedBytes, long absmaxCount, long numel, int blocksize) {
        if (packedBytes != Math.ceilDiv(numel, 2)) {
            throw new IllegalArgumentException(numel + " NF4 elements need " + Math.ceilDiv(numel, 2)
                    + " packed bytes, got " + packedBytes);
        }
        if (absmaxCount != Math.ceilDiv(numel, (long) blocksize)) {
            throw new IllegalArgumentException(numel + " elements in blocks of " + blocksize + " need "
                    + Math.ceilDiv(numel, (long) blocksize) + " absmax values, got " + absmaxCount);
        }
    }
}
