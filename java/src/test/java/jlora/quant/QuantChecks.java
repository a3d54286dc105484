package jlora.quant;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;

/** Shared test helpers: seeded random inputs and failure messages that name the worst element. */
final class QuantChecks {
    private QuantChecks() {}

    static long freshSeed() {
        return System.nanoTime() ^ Thread.currentThread().threadId() * 0x9E3779B97F4A7C15L;
    }

    static float[] gaussian(Random r, int n, float std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        return x;
    }

    /** Fails at the element whose |got - want| most exceeds {@code bound[i]}; NaN never passes. */
    static void assertWithin(float[] want, float[] got, float[] bound, String what) {
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            if (Float.isNaN(got[i]) || Float.isNaN(want[i])) err = Double.POSITIVE_INFINITY;
            double excess = err - bound[i];
            if (excess > 0 && (worst < 0 || excess > worstExcess)) {
                worst = i;
                worstExcess = excess;
            }
        }
        if (worst >= 0) {
            fail(what + ": worst element " + worst + " got " + got[worst] + " want " + want[worst] + " (|err| "
                    + Math.abs((double) got[worst] - want[worst]) + " > bound " + bound[worst] + ")");
        }
    }

    /** Bit equality with a message naming the first differing element. */
    static void assertBitsEqual(float[] want, float[] got, String what) {
        if (want.length != got.length) fail(what + ": length " + got.length + " != " + want.length);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                fail(what + ": element " + i + " got " + got[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(got[i]))
                        + ") want " + want[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(want[i])) + ")");
            }
        }
    }

    static void assertBytesEqual(byte[] want, byte[] got, String what) {
        if (want.length != got.length) fail(what + ": " + got.length + " bytes, want " + want.length);
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                fail(what + ": byte " + i + " got 0x" + Integer.toHexString(got[i] & 0xFF) + " want 0x" + Integer.toHexString(want[i] & 0xFF));
            }
        }
    }

    /**
     * Round-to-nearest-even to bf16 written from the definition (the two bf16 neighbours of x,
     * compared in double), independent of HalfFloats' bit trick. Finite inputs only.
     */
    static short bf16Rne(float x) {
        int bits = Float.floatToRawIntBits(x);
        int down = bits & 0xFFFF0000;
        int up = down + 0x10000;
        double dDown = Math.abs((double) Float.intBitsToFloat(down) - x);
        double dUp = Math.abs((double) Float.intBitsToFloat(up) - x);
        int pick;
        if (dDown < dUp) pick = down;
        else if (dUp < dDown) pick = up;
        else pick = ((down >>> 16) & 1) == 0 ? down : up;
        return (short) (pick >>> 16);
    }

    static float bf16RneValue(float x) {
        return Float.intBitsToFloat((bf16Rne(x) & 0xFFFF) << 16);
    }
}
