package jlora.backend.cuda;

/**
 * f32 ⇄ bf16 on the device (cuda/cast.cu). Bit-exact with {@link jlora.tensor.HalfFloats}:
 * round to nearest even, ±Inf kept, NaN kept a quiet NaN with its sign and top payload.
 * Offsets and counts are in elements; any alignment works (16-byte aligned ranges take the
 * vectorised path).
 */
public final class CastKernels {
    private final CudaApi api;

    public CastKernels(CudaApi api) {
        this.api = api;
    }

    public void f32ToBf16(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long n) {
        checkCount(n);
        api.castF32ToBf16(src.at(Math.multiplyExact(srcOffset, 4), n * 4), dst.at(Math.multiplyExact(dstOffset, 2), n * 2), n);
    }

    public void bf16ToF32(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long n) {
        checkCount(n);
        api.castBf16ToF32(src.at(Math.multiplyExact(srcOffset, 2), n * 2), dst.at(Math.multiplyExact(dstOffset, 4), n * 4), n);
    }

    private static void checkCount(long n) {
        if (n < 0 || n > Long.MAX_VALUE / 4) throw new IllegalArgumentException("element count " + n);
    }
}
