package jlora.train;

import jlora.quant.Blockwise8bit;

/**
 * bitsandbytes' 8-bit code search ({@code dQuantize<0>} / {@code quantize_2D}, transcribed in
 * {@link Blockwise8bit#quantizeValue}) by table lookup, because the 7-step binary search costs
 * about 50 ns per value on a CPU in branch mispredictions.
 *
 * <p>The kernel's answer is a non-decreasing step function of x (round to the neighbouring code at
 * the fp32 midpoint; NaN maps to 0), so it is fixed by 255 thresholds: {@code threshold[k]} is the
 * least float whose code is above k. A table indexed by the top 16 bits of x (sign, exponent,
 * 7 mantissa bits) gives the codes at both ends of that slice of the float line; usually they are
 * equal, otherwise the few thresholds between them decide. The tables are derived from the
 * reference search itself, and {@code CodeSearchTest} checks the two agree at every threshold,
 * every slice end and random floats.
 */
final class CodeSearch {
    private final float[] threshold = new float[256];
    private final byte[] low = new byte[1 << 16];
    private final byte[] high = new byte[1 << 16];

    CodeSearch(float[] code) {
        for (int k = 0; k < 255; k++) threshold[k] = leastAbove(code, k);
        threshold[255] = Float.NaN; // nothing lies above code 255
        for (int prefix = 0; prefix < (1 << 16); prefix++) {
            int first = prefix << 16;
            int last = first | 0xFFFF;
            if (Float.isNaN(Float.intBitsToFloat(first)) && Float.isNaN(Float.intBitsToFloat(last))) continue;
            // only ±inf shares a slice with NaNs, as its first pattern
            float a = Float.intBitsToFloat(first);
            float b = Float.isNaN(Float.intBitsToFloat(last)) ? a : Float.intBitsToFloat(last);
            int qa = Blockwise8bit.quantizeValue(code, a);
            int qb = Blockwise8bit.quantizeValue(code, b);
            low[prefix] = (byte) Math.min(qa, qb);
            high[prefix] = (byte) Math.max(qa, qb);
        }
    }

    int quantize(float x) {
        if (x != x) return 0; // NaN: the kernel's search falls through to index 0
        int prefix = Float.floatToRawIntBits(x) >>> 16;
        int q = low[prefix] & 0xFF;
        int hi = high[prefix] & 0xFF;
        while (q < hi && x >= threshold[q]) q++;
        return q;
    }

    /** The least float (in numeric order) whose reference code exceeds k, or NaN if none does. */
    private static float leastAbove(float[] code, int k) {
        int lo = ordered(Float.NEGATIVE_INFINITY);
        int hi = ordered(Float.POSITIVE_INFINITY);
        if (Blockwise8bit.quantizeValue(code, Float.POSITIVE_INFINITY) <= k) return Float.NaN;
        while (lo < hi) {
            int mid = (int) (((long) lo + hi) >> 1);
            if (Blockwise8bit.quantizeValue(code, fromOrdered(mid)) > k) hi = mid;
            else lo = mid + 1;
        }
        return fromOrdered(lo);
    }

    /** Floats as ints in numeric order (-0.0 and 0.0 both map to 0). */
    private static int ordered(float f) {
        int i = Float.floatToRawIntBits(f);
        return i >= 0 ? i : Integer.MIN_VALUE - i;
    }

    private static float fromOrdered(int o) {
        return Float.intBitsToFloat(o >= 0 ? o : Integer.MIN_VALUE - o);
    }
}
