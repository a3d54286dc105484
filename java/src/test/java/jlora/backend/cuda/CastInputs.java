package jlora.backend.cuda;

import java.util.SplittableRandom;

/** Inputs for the f32 → bf16 tests: the values where a rounding rule can go wrong. */
final class CastInputs {
    private CastInputs() {}

    /** Random bit patterns, ordinary values, exact rounding ties, and the special values. */
    static float interestingFloat(SplittableRandom random) {
        return switch (random.nextInt(8)) {
            case 0, 1 -> Float.intBitsToFloat(random.nextInt()); // NaN payloads, subnormals, Inf
            case 2, 3 -> (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-30, 30)));
            case 4 -> Float.intBitsToFloat((random.nextInt() & 0xFFFF_0000) | 0x8000); // tie: even rule decides
            case 5 -> Float.intBitsToFloat((random.nextInt() & 0xFFFF_0000) | (random.nextBoolean() ? 0x7FFF : 0x8001));
            case 6 -> new float[] {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                    Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, Float.MIN_NORMAL}[random.nextInt(9)];
            default -> Float.intBitsToFloat(0x7F80_0000 | (random.nextInt() & 0x807F_FFFF)); // Inf or NaN, either sign
        };
    }
}
