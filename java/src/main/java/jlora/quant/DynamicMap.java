package jlora.quant;

import java.util.Arrays;

/**
 * bitsandbytes' 8-bit dynamic quantization map ({@code create_dynamic_map(signed, max_exponent_bits=7,
 * total_bits=8)} in {@code functional.py}): the code used for blockwise 8-bit optimizer state and
 * for the double quantization of NF4 absmax ({@code nested_quant_map}).
 *
 * <p>Construction, in fp32 as torch does it: for exponent step i = 0..6 take
 * {@code b = torch.linspace(0.1, 1, n_i)} with {@code n_i = 2^i + 1} (signed) or {@code 2^(i+1) + 1}
 * (unsigned), the midpoints {@code (b[k] + b[k+1]) / 2}, scaled by {@code (float) 10^(i-6)}; the
 * signed map adds the negatives; then 0 and 1.0 are appended and the 256 values sorted.
 *
 * <p>The map is built on the CPU, so its last bits follow torch's CPU {@code linspace} kernel
 * ({@code aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp}). Current PyTorch computes it with a
 * scalar loop, {@code start + i * step} below the halfway point and {@code end - (n-1-i) * step}
 * from there on ("Remove vectorization implementation, due to the precision issue"); older releases
 * ran a SIMD path ({@code base + k * step} over runs of {@code 2 * width} elements) that rounds some
 * entries an ulp or two differently, and so differ between AVX2 and AVX-512 machines. The default is
 * the scalar kernel; the others are kept to reproduce maps from old installations. A checkpoint's own
 * {@code nested_quant_map} is always used as stored.
 */
public final class DynamicMap {
    private DynamicMap() {}

    /** Which torch CPU kernel computed {@code linspace}: the float lanes of its vectors, 0 for the scalar loop. */
    public enum LinspaceKernel {
        SCALAR(0), AVX2(8), AVX512(16);

        final int width;

        LinspaceKernel(int width) {
            this.width = width;
        }
    }

    /** {@code create_dynamic_map(signed=True)} as current PyTorch computes it. */
    private static final float[] SIGNED = create(true, LinspaceKernel.SCALAR);

    /** The signed map bitsandbytes uses for double quantization and signed optimizer state; a copy. */
    public static float[] signed() {
        return SIGNED.clone();
    }

    /** {@code create_dynamic_map(signed=False)} (bitsandbytes' map for Adam's second moment). */
    public static float[] unsigned() {
        return create(false, LinspaceKernel.SCALAR);
    }

    public static float[] create(boolean signed, LinspaceKernel kernel) {
        final int maxExponentBits = 7;
        final int nonSignBits = 7; // total_bits - 1 in bitsandbytes, for signed and unsigned alike
        // Python's 10 ** (i - 6) as a double, cast to fp32 by torch before the fp32 multiply
        double[] scale = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
        float[] data = new float[256];
        int count = 0;
        for (int i = 0; i < maxExponentBits; i++) {
            int items = signed ? (1 << (i + nonSignBits - maxExponentBits)) + 1
                    : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            float[] b = linspace(0.1f, 1.0f, items, kernel.width);
            float s = (float) scale[i];
            for (int k = 0; k + 1 < items; k++) data[count++] = s * ((b[k] + b[k + 1]) / 2.0f);
            if (signed) {
                for (int k = 0; k + 1 < items; k++) data[count++] = -s * ((b[k] + b[k + 1]) / 2.0f);
            }
        }
        // additional_items = 2^(non_sign_bits - max_exponent_bits) - 1 = 0 for the 8-bit map
        data[count++] = 0.0f;
        data[count++] = 1.0f;
        // the unsigned map has 2+4+..+128 + 2 = 256 entries too; any gap would be zero-filled
        while (count < 256) data[count++] = 0.0f;
        Arrays.sort(data);
        return data;
    }

    /** torch.linspace on the CPU for fp32 (aten RangeFactoriesKernel + vectorized_loop). */
    static float[] linspace(float start, float end, int steps, int width) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        int idx = 0;
        if (width > 0) {
            // vectorized_loop runs two vectors per iteration while 2*width elements remain
            while (idx + 2 * width <= steps) {
                for (int v = 0; v < 2; v++) {
                    float base = idx < halfway ? start + step * idx : end - step * (steps - idx - 1);
                    for (int k = 0; k < width; k++) out[idx + k] = base + k * step;
                    idx += width;
                }
            }
        }
        for (; idx < steps; idx++) {
            out[idx] = idx < halfway ? start + step * idx : end - step * (steps - idx - 1);
        }
        return out;
    }
}
