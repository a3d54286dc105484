package jlora.quant;

/**
 * Blockwise 8-bit quantization with a 256-entry code, bit-compatible with bitsandbytes'
 * {@code quantize_blockwise} / {@code dequantize_blockwise} CUDA kernels
 * ({@code kQuantizeBlockwise<T, B, .., General8bit>} with {@code dQuantize<0>}, and
 * {@code kDequantizeBlockwise}). Used for NF4 double quantization (blocksize 256, the signed
 * {@link DynamicMap}) and for 8-bit optimizer state.
 *
 * <p>Per block: {@code absmax = max |x|} (fp32); each element is scaled by {@code 1f / absmax}
 * and mapped to a code index by the kernel's 7-step binary search with a midpoint decision,
 * which is not always the nearest code; dequantization is {@code code[q] * absmax} in fp32.
 */
public final class Blockwise8bit {
    private Blockwise8bit() {}

    /** Result: one byte per element and one fp32 absmax per block. */
    public record Quantized(byte[] q, float[] absmax, int blocksize) {}

    /**
     * bitsandbytes {@code dQuantize<0>(code, 0, x)}: binary search from pivot 127 with steps
     * 64..1 (strict {@code x > val} goes up), tracking the last pivots above and below; the bracket
     * ends default to indices 255 and 0. The final choice compares x with the fp32 midpoint
     * {@code (neighbour + val) * 0.5f}: above the pivot a tie stays at the pivot, below it too.
     */
    public static int quantizeValue(float[] code, float x) {
        int pivot = 127;
        int upperPivot = 255;
        int lowerPivot = 0;
        float lower = -1.0f;
        float upper = 1.0f;
        float val = code[pivot];
        for (int i = 64; i > 0; i >>= 1) {
            if (x > val) {
                lowerPivot = pivot;
                lower = val;
                pivot += i;
            } else {
                upperPivot = pivot;
                upper = val;
                pivot -= i;
            }
            val = code[pivot];
        }
        if (upperPivot == 255) upper = code[upperPivot];
        if (lowerPivot == 0) lower = code[lowerPivot];
        if (x > val) {
            float midpoint = (upper + val) * 0.5f;
            return x > midpoint ? upperPivot : pivot;
        }
        float midpoint = (lower + val) * 0.5f;
        return x < midpoint ? lowerPivot : pivot;
    }

    public static Quantized quantize(float[] x, float[] code, int blocksize) {
        return quantize(x, code, blocksize, Reciprocal.IEEE);
    }

    /** As {@link #quantize(float[], float[], int)} with the scale {@code rcp.of(absmax)} (see {@link Reciprocal}). */
    public static Quantized quantize(float[] x, float[] code, int blocksize, Reciprocal rcp) {
        checkCode(code);
        checkBlocksize(blocksize);
        int n = x.length;
        int blocks = Math.ceilDiv(n, blocksize);
        byte[] q = new byte[n];
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            int from = b * blocksize;
            int to = Math.min(n, from + blocksize);
            float amax = Nf4.absmax(x, from, to);
            absmax[b] = amax;
            float inv = rcp.of(amax);
            for (int i = from; i < to; i++) q[i] = (byte) quantizeValue(code, x[i] * inv);
        }
        return new Quantized(q, absmax, blocksize);
    }

    public static float[] dequantize(byte[] q, float[] absmax, float[] code, int blocksize) {
        checkCode(code);
        checkBlocksize(blocksize);
        if (absmax.length != Math.ceilDiv(q.length, blocksize)) {
            throw new IllegalArgumentException(q.length + " values in blocks of " + blocksize + " need "
                    + Math.ceilDiv(q.length, blocksize) + " absmax values, got " + absmax.length);
        }
        float[] out = new float[q.length];
        for (int i = 0; i < q.length; i++) out[i] = code[q[i] & 0xFF] * absmax[i / blocksize];
        return out;
    }

    static void checkCode(float[] code) {
        if (code.length != 256) throw new IllegalArgumentException("an 8-bit code has 256 entries, got " + code.length);
    }

    static void checkBlocksize(int blocksize) {
        // bitsandbytes' quantize_blockwise accepts these (backends/cuda/ops.py)
        switch (blocksize) {
            case 32, 64, 128, 256, 512, 1024, 2048, 4096 -> {}
            default -> throw new IllegalArgumentException("blockwise 8-bit blocksize must be a power of two in 32..4096, got " + blocksize);
        }
    }
}
