package jlora.quant;

/**
 * A GPU reciprocal replayed from a table of its results for the 1024 mantissas of an fp16 (which
 * include the 128 of a bf16): {@code table[k] = rcp(1 + k / 1024)}. The hardware reciprocal works
 * on the mantissa and shifts the exponent, so a normal {@code a = ±m × 2^e} maps to
 * {@code ±table[m] × 2^-e}; mantissas outside the table (fp32 absmax with more bits) and results
 * outside the normal range fall back to the correctly rounded quotient.
 */
public final class ReciprocalTable implements Reciprocal {
    private final float[] table;

    public ReciprocalTable(float[] table) {
        if (table.length != 1024) throw new IllegalArgumentException("a reciprocal table has 1024 entries, got " + table.length);
        for (int k = 0; k < 1024; k++) {
            float m = 1.0f + k / 1024.0f;
            if (!(Math.abs(table[k] * m - 1.0f) < 1e-6f)) {
                throw new IllegalArgumentException("reciprocal table entry " + k + " = " + table[k] + " is not 1/" + m);
            }
        }
        this.table = table.clone();
    }

    /** True if {@code a}'s mantissa has at most 10 bits, so the table covers it. */
    public static boolean covers(float a) {
        int bits = Float.floatToRawIntBits(a);
        int exp = (bits >>> 23) & 0xFF;
        return exp != 0 && exp != 0xFF && (bits & 0x1FFF) == 0;
    }

    @Override
    public float of(float a) {
        if (!covers(a)) return 1.0f / a;
        int bits = Float.floatToRawIntBits(a);
        int exp = ((bits >>> 23) & 0xFF) - 127;
        int k = (bits >>> 13) & 0x3FF;
        float r = Math.scalb(table[k], -exp);
        if (!Float.isFinite(r) || Math.abs(r) < Float.MIN_NORMAL) return 1.0f / a;
        return bits < 0 ? -r : r;
    }
}
