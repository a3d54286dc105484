package jlora.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import jlora.tensor.DType;
import jlora.tensor.HalfFloats;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Shared plumbing of the kernel parity tests: the GPU assumption (a skip with the status text
 * as the reason), host ⇄ device copies of tensors, output poisoning and the comparison.
 * Outputs are filled with {@link #POISONS} before each run: 0xFF makes every f32 / bf16 a NaN
 * (an element the kernel never wrote fails, NaN never passes), 0xA5 a finite value that
 * cannot match by chance in both runs. Tests allocate host tensors from a shared arena: the
 * CPU backend's loops run on pool threads.
 */
final class GpuParity {
    static final int[] POISONS = {0xFF, 0xA5};

    private GpuParity() {}

    static CudaApi requireGpu() {
        CudaDevices.Report report = CudaDevices.query();
        assumeTrue(report.status() == CudaDevices.Status.READY, () -> "no GPU for this test: " + report.describe());
        return CudaApi.require();
    }

    static float[] gaussian(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    /** The activation types the kernels take; each parity test runs both. */
    static final DType[] ACTIVATIONS = {DType.F32, DType.BF16};

    /** Parity bounds: fp32 1e-5, bf16 (one rounding of the fp32 result, ≤ 2^-9 relative) 1e-2. */
    static double tolerance(DType t) {
        return t == DType.BF16 ? 1e-2 : 1e-5;
    }

    /** The values as {@code t} holds them: rounded to bf16 (RNE) for BF16, unchanged for F32. */
    static float[] representable(DType t, float[] v) {
        if (t != DType.BF16) return v;
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v[i]));
        return r;
    }

    static Tensor tensor(Arena arena, DType t, float[] v, long... dims) {
        return Tensor.of(t, Shape.of(dims), v, arena);
    }

    /** {@code n} elements of type {@code t} from the device, widened to float. */
    static float[] download(Arena arena, DeviceBuffer b, DType t, int n) {
        if (t == DType.F32) return downloadF32(arena, b, n);
        short[] bits = downloadU16(arena, b, n);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = HalfFloats.bf16ToF32(bits[i]);
        return f;
    }

    static long bytes(DType t, long n) {
        return n * (t == DType.F32 ? 4 : 2);
    }

    static Tensor f32(Arena arena, float[] v, long... dims) {
        return Tensor.of(DType.F32, Shape.of(dims), v, arena);
    }

    static Tensor i32(Arena arena, int[] v) {
        Tensor t = Tensor.allocate(DType.I32, Shape.of(v.length), arena);
        MemorySegment.copy(v, 0, t.data(), ValueLayout.JAVA_INT_UNALIGNED, 0, v.length);
        return t;
    }

    static DeviceBuffer upload(CudaApi api, Tensor t) {
        DeviceBuffer b = new DeviceBuffer(api, Math.max(t.byteSize(), 1));
        if (t.byteSize() > 0) b.copyFrom(t.data());
        return b;
    }

    static DeviceBuffer upload(CudaApi api, Arena arena, float[] v) {
        return upload(api, f32(arena, v, v.length));
    }

    static DeviceBuffer poisoned(CudaApi api, long bytes, int poison) {
        DeviceBuffer b = new DeviceBuffer(api, Math.max(bytes, 1));
        b.fill(poison);
        return b;
    }

    static float[] downloadF32(Arena arena, DeviceBuffer b, int n) {
        MemorySegment host = arena.allocate(4L * Math.max(n, 1), 16);
        if (n > 0) b.copyTo(host.asSlice(0, 4L * n));
        return host.asSlice(0, 4L * n).toArray(ValueLayout.JAVA_FLOAT);
    }

    static short[] downloadU16(Arena arena, DeviceBuffer b, long n) {
        MemorySegment host = arena.allocate(2 * Math.max(n, 1), 16);
        if (n > 0) b.copyTo(host.asSlice(0, 2 * n));
        return host.asSlice(0, 2 * n).toArray(ValueLayout.JAVA_SHORT);
    }

    /**
     * Every element within {@code tol · (|want| + floor)}; NaN on either side fails. The message
     * names the worst element (largest error over its bound), its index and both values.
     */
    static void assertClose(String context, float[] want, float[] got, double tol, double floor) {
        if (want.length != got.length) throw new AssertionError(context + ": length " + got.length + " != " + want.length);
        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < want.length; i++) {
            double bound = tol * (Math.abs(want[i]) + floor);
            double err = Math.abs((double) got[i] - want[i]);
            double ratio = Float.isNaN(got[i]) || Float.isNaN(want[i]) ? Double.POSITIVE_INFINITY : err / bound;
            if (ratio > worstRatio || worst < 0) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (worstRatio > 1) {
            throw new AssertionError(String.format("%s: worst element %d: want %s got %s (|Δ| = %.3g, bound %.1e·(|want| + %s)),"
                    + " n = %d", context, worst, want[worst], got[worst], Math.abs((double) got[worst] - want[worst]), tol,
                    floor, want.length));
        }
    }

    /** Bit-for-bit equality; the message names the first differing element. */
    static void assertBits(String context, float[] want, float[] got) {
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(String.format("%s: first mismatch at %d: want %s (0x%08X) got %s (0x%08X), n = %d",
                        context, i, want[i], Float.floatToRawIntBits(want[i]), got[i], Float.floatToRawIntBits(got[i]),
                        want.length));
            }
        }
    }
}
