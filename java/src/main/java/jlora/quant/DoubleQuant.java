package jlora.quant;

/**
 * Double quantization of NF4 absmax ({@code compress_statistics=True} in bitsandbytes'
 * {@code quantize_4bit}): {@code offset = absmax.mean()} (fp32), then {@code absmax - offset}
 * quantized blockwise 8-bit with blocksize 256 and the signed dynamic map. Rebuilt as
 * {@code code[q] * nestedAbsmax[i / 256] + offset}, each step rounded to fp32 as the
 * dequantize kernel and the following torch add do.
 */
public final class DoubleQuant {
    private DoubleQuant() {}

    /** bitsandbytes' nested block size ({@code quantize_blockwise(absmax - offset, blocksize=256)}). */
    public static final int NESTED_BLOCKSIZE = 256;

    public record Nested(byte[] q, float[] nestedAbsmax, float[] code, float offset, int blocksize) {}

    /**
     * The mean as fp32. torch reduces in fp32 on the GPU in an order we do not reproduce; the
     * correctly rounded mean (double sum) agrees with it to a few ulps.
     */
    public static float mean(float[] absmax) {
        double s = 0;
        for (float a : absmax) s += a;
        return (float) (s / absmax.length);
    }

    public static Nested quantize(float[] absmax, float[] code) {
        return quantize(absmax, code, mean(absmax));
    }

    /** Double quantization with a given offset (lets a test use bitsandbytes' own offset). */
    public static Nested quantize(float[] absmax, float[] code, float offset) {
        return quantize(absmax, code, offset, Reciprocal.IEEE);
    }

    public static Nested quantize(float[] absmax, float[] code, float offset, Reciprocal rcp) {
        float[] centered = new float[absmax.length];
        for (int i = 0; i < absmax.length; i++) centered[i] = absmax[i] - offset;
        Blockwise8bit.Quantized q = Blockwise8bit.quantize(centered, code, NESTED_BLOCKSIZE, rcp);
        return new Nested(q.q(), q.absmax(), code, offset, NESTED_BLOCKSIZE);
    }

    public static float[] dequantize(byte[] q, float[] nestedAbsmax, float[] code, float offset, int blocksize) {
        float[] out = Blockwise8bit.dequantize(q, nestedAbsmax, code, blocksize);
        for (int i = 0; i < out.length; i++) out[i] += offset;
        return out;
    }

    public static float[] dequantize(Nested n) {
        return dequantize(n.q(), n.nestedAbsmax(), n.code(), n.offset(), n.blocksize());
    }
}
