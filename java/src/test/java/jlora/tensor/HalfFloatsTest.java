package jlora.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * bf16 and f16 conversions against an independent reference: IEEE round-to-nearest-even done in
 * exact double arithmetic (scale the value by the target's quantum, {@link Math#rint}, re-encode),
 * which shares nothing with the bit tricks in {@link HalfFloats}. Exact match required; NaN must
 * stay NaN with its sign.
 */
class HalfFloatsTest {
    /** bf16: 8 exponent bits, 7 mantissa bits. f16: 5 and 10. */
    static final int BF16_EXP = 8, BF16_MAN = 7, F16_EXP = 5, F16_MAN = 10;

    /**
     * The bit pattern of the nearest value of a binary format with {@code e} exponent and
     * {@code m} mantissa bits, ties to even, overflow to Inf (IEEE 754 §4.3.1, §7.4), for a
     * non-NaN float. Every step is exact in double: the float has 24 significant bits and we only
     * scale by powers of two before rounding.
     */
    static int reference(float f, int e, int m) {
        int sign = (Float.floatToRawIntBits(f) >>> 31) << (e + m);
        int bias = (1 << (e - 1)) - 1;
        int infBits = ((1 << e) - 1) << m;
        if (Float.isInfinite(f)) return sign | infBits;
        double d = Math.abs((double) f);
        int minExp = 1 - bias; // exponent of the smallest normal; subnormals share its quantum
        int exp = d == 0 ? minExp : Math.max(Math.getExponent(d), minExp);
        double k = Math.rint(Math.scalb(d, m - exp)); // d / quantum, rounded half to even
        // Consecutive encodings are consecutive values, so the pattern is (biased exponent - 1)
        // shifted past the mantissa plus k; k == 2^(m+1) carries into the next binade correctly.
        long bits = ((long) (exp + bias - 1) << m) + (long) k;
        return sign | (int) Math.min(bits, infBits);
    }

    /** The value of a pattern of that format, from the IEEE definition. */
    static double decode(int bits, int e, int m) {
        int bias = (1 << (e - 1)) - 1;
        int exp = (bits >>> m) & ((1 << e) - 1);
        int man = bits & ((1 << m) - 1);
        double sign = ((bits >>> (e + m)) & 1) == 1 ? -1 : 1;
        if (exp == (1 << e) - 1) return man == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        if (exp == 0) return sign * Math.scalb((double) man, 1 - bias - m);
        return sign * Math.scalb((double) ((1 << m) + man), exp - bias - m);
    }

    private static int bf16(float f) {
        return HalfFloats.f32ToBf16(f) & 0xFFFF;
    }

    private static int f16(float f) {
        return HalfFloats.f32ToF16(f) & 0xFFFF;
    }

    /** Checks {@code conv} against the reference on the given float bit patterns; reports the first miss. */
    private static void checkAgainstReference(String what, int[] inputs, IntUnaryOperator conv, int e, int m, long seed) {
        int misses = 0;
        int first = -1;
        for (int i = 0; i < inputs.length; i++) {
            float f = Float.intBitsToFloat(inputs[i]);
            if (Float.isNaN(f)) continue;
            if (conv.applyAsInt(inputs[i]) != reference(f, e, m)) {
                if (first < 0) first = i;
                misses++;
            }
        }
        if (misses > 0) {
            float f = Float.intBitsToFloat(inputs[first]);
            fail(String.format("%s: %d of %d wrong (seed %d); first at index %d: input %s (0x%08x) gave 0x%04x (%s),"
                            + " reference 0x%04x (%s)", what, misses, inputs.length, seed, first, f, inputs[first],
                    conv.applyAsInt(inputs[first]), decode(conv.applyAsInt(inputs[first]), e, m),
                    reference(f, e, m), decode(reference(f, e, m), e, m)));
        }
    }

    private static int[] randomBits(SplittableRandom rnd, int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = switch (i % 4) {
                case 0 -> rnd.nextInt(); // every class and exponent
                case 1 -> Float.floatToRawIntBits((float) rnd.nextGaussian()); // typical weights
                case 2 -> Float.floatToRawIntBits((float) (rnd.nextGaussian() * 60000)); // around f16's max
                default -> rnd.nextInt(0x0100_0000) | (rnd.nextBoolean() ? 0x8000_0000 : 0); // tiny and subnormal
            };
        }
        return a;
    }

    /** Every exact tie between two neighbours of the format, and the floats just either side. */
    private static int[] tiesAndNeighbours(int e, int m) {
        int patterns = 1 << (e + m + 1);
        int[] out = new int[patterns * 3];
        int n = 0;
        for (int b = 0; b < patterns; b++) {
            double lo = decode(b, e, m);
            double hi = decode(b + 1 == patterns ? b : b + 1, e, m);
            if (Double.isNaN(lo) || Double.isNaN(hi) || Double.isInfinite(lo)) continue;
            // past the largest finite value the "next" value is 2^(emax+1) (what IEEE rounds against)
            if (Double.isInfinite(hi)) hi = Math.copySign(Math.scalb(1.0, (1 << (e - 1))), lo);
            if ((b & ((1 << (e + m)) - 1)) == (1 << (e + m)) - 1) continue; // sign wraps: not neighbours
            float tie = (float) ((lo + hi) / 2); // exact: m+2 significant bits fit a float
            if ((double) tie != (lo + hi) / 2) throw new AssertionError("tie not exact for pattern " + b);
            out[n++] = Float.floatToRawIntBits(tie);
            out[n++] = Float.floatToRawIntBits(Math.nextUp(tie));
            out[n++] = Float.floatToRawIntBits(Math.nextDown(tie));
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static final int[] EDGES = {
        0x0000_0000, 0x8000_0000, // ±0
        0x7F80_0000, 0xFF80_0000, // ±Inf
        0x7F7F_FFFF, 0xFF7F_FFFF, // ±max finite float: above bf16's max + half ulp, so Inf
        0x7F7F_8000, 0x7F7F_7FFF, // bf16 max + exactly half an ulp (odd mantissa: Inf) and just below
        0x0000_0001, 0x8000_0001, // smallest float subnormals: round to ±0 in both formats
        0x007F_FFFF, 0x0080_0000, // largest subnormal / smallest normal float
        0x3F80_0000, 0x3F80_8000, 0x3F81_8000, // 1, ties at 1 + 2^-8 (to even: down) and 1 + 3·2^-8 (up)
        Float.floatToRawIntBits(65504f), Float.floatToRawIntBits(65519.99f), Float.floatToRawIntBits(65520f),
        Float.floatToRawIntBits(0x1p-24f), Float.floatToRawIntBits(0x1p-25f), Float.floatToRawIntBits(0x1.8p-25f),
    };

    @Test
    void f32ToBf16MatchesNearestEvenReference() {
        long seed = new SplittableRandom().nextLong();
        checkAgainstReference("bf16 edges", EDGES, b -> bf16(Float.intBitsToFloat(b)), BF16_EXP, BF16_MAN, seed);
        checkAgainstReference("bf16 ties", tiesAndNeighbours(BF16_EXP, BF16_MAN), b -> bf16(Float.intBitsToFloat(b)),
                BF16_EXP, BF16_MAN, seed);
        checkAgainstReference("bf16 random", randomBits(new SplittableRandom(seed), 400_000),
                b -> bf16(Float.intBitsToFloat(b)), BF16_EXP, BF16_MAN, seed);
        // The reference itself, on cases whose answer is known from the format's definition:
        assertEquals(0x7F80, reference(Float.intBitsToFloat(0x7F7F_8000), BF16_EXP, BF16_MAN), "max + half ulp -> Inf");
        assertEquals(0x3F80, reference(Float.intBitsToFloat(0x3F80_8000), BF16_EXP, BF16_MAN), "tie to even, down");
        assertEquals(0x3F82, reference(Float.intBitsToFloat(0x3F81_8000), BF16_EXP, BF16_MAN), "tie to even, up");
        assertEquals(0x8000, reference(-0f, BF16_EXP, BF16_MAN));
    }

    @Test
    void f32ToF16MatchesNearestEvenReference() {
        long seed = new SplittableRandom().nextLong();
        checkAgainstReference("f16 edges", EDGES, b -> f16(Float.intBitsToFloat(b)), F16_EXP, F16_MAN, seed);
        checkAgainstReference("f16 ties", tiesAndNeighbours(F16_EXP, F16_MAN), b -> f16(Float.intBitsToFloat(b)),
                F16_EXP, F16_MAN, seed);
        checkAgainstReference("f16 random", randomBits(new SplittableRandom(seed), 400_000),
                b -> f16(Float.intBitsToFloat(b)), F16_EXP, F16_MAN, seed);
        assertEquals(0x7BFF, reference(65504f, F16_EXP, F16_MAN), "f16 max");
        assertEquals(0x7C00, reference(65520f, F16_EXP, F16_MAN), "max + half ulp -> Inf");
        assertEquals(0x0001, reference(0x1.8p-25f, F16_EXP, F16_MAN), "above half the smallest subnormal");
        assertEquals(0x0000, reference(0x1p-25f, F16_EXP, F16_MAN), "exactly half the smallest subnormal: to even 0");
    }

    @Test
    void nanStaysNanWithItsSign() {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 20_000; i++) {
            // exponent all ones, any non-zero mantissa (often only in the bits narrowing drops)
            int mantissa = i % 2 == 0 ? 1 + rnd.nextInt(0xFFFF) : 1 + rnd.nextInt(0x7F_FFFF);
            int bits = (rnd.nextBoolean() ? 0xFF80_0000 : 0x7F80_0000) | mantissa;
            float nan = Float.intBitsToFloat(bits);
            short b = HalfFloats.f32ToBf16(nan);
            short h = HalfFloats.f32ToF16(nan);
            String ctx = String.format("input 0x%08x (seed %d): bf16 0x%04x, f16 0x%04x", bits, seed, b, h);
            assertTrue(Float.isNaN(HalfFloats.bf16ToF32(b)), ctx);
            assertTrue(Float.isNaN(HalfFloats.f16ToF32(h)), ctx);
            assertEquals(bits >>> 31, (b >>> 15) & 1, "bf16 sign " + ctx);
            assertEquals(bits >>> 31, (h >>> 15) & 1, "f16 sign " + ctx);
        }
    }

    /** Every 16-bit pattern: widening is exact (matches the IEEE decode) and narrowing it back is the identity. */
    private static void exhaustive(String what, int e, int m, java.util.function.IntFunction<Float> widen,
                                   java.util.function.ToIntFunction<Float> narrow) {
        for (int bits = 0; bits < 0x1_0000; bits++) {
            float wide = widen.apply(bits);
            double expected = decode(bits, e, m);
            if (Double.isNaN(expected)) {
                if (!Float.isNaN(wide)) fail(String.format("%s 0x%04x is NaN but widened to %s", what, bits, wide));
                if (!Float.isNaN(widen.apply(narrow.applyAsInt(wide))))
                    fail(String.format("%s NaN 0x%04x did not survive the round trip", what, bits));
                continue;
            }
            if (Double.compare(wide, expected) != 0) {
                fail(String.format("%s 0x%04x widened to %s, IEEE decode says %s", what, bits, wide, expected));
            }
            int back = narrow.applyAsInt(wide) & 0xFFFF;
            if (back != bits) fail(String.format("%s 0x%04x -> %s -> 0x%04x", what, bits, wide, back));
        }
    }

    @Test
    void bf16ThroughF32IsTheIdentityForAllPatterns() {
        exhaustive("bf16", BF16_EXP, BF16_MAN, b -> HalfFloats.bf16ToF32((short) (int) b), HalfFloats::f32ToBf16);
    }

    @Test
    void f16ThroughF32IsTheIdentityForAllPatterns() {
        exhaustive("f16", F16_EXP, F16_MAN, b -> HalfFloats.f16ToF32((short) (int) b), HalfFloats::f32ToF16);
    }
}
