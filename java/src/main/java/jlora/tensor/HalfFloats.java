package jlora.tensor;

/**
 * bf16 and f16 ⇄ f32. Narrowing rounds to nearest, ties to even (as PyTorch's
 * {@code tensor.to(torch.bfloat16)}), keeps ±Inf, and keeps NaN a NaN (quietened) rather
 * than letting the rounding carry turn a NaN payload into Inf.
 */
public final class HalfFloats {
    private HalfFloats() {}

    public static float bf16ToF32(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static short f32ToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) ((bits >>> 16) | 0x0040); // NaN: keep sign and top payload, set quiet bit
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7FFF + lsb;
        return (short) (rounded >>> 16);
    }

    public static float f16ToF32(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** IEEE binary16, round to nearest even; overflow becomes Inf as IEEE requires. */
    public static short f32ToF16(float value) {
        return Float.floatToFloat16(value);
    }
}
