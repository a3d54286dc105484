package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuda/swiglu.cu against {@link CpuBackend#swiglu} / {@link CpuBackend#swigluBackward} within
 * 1e-5 · (|want| + 1) (σ in fp32 on the GPU, in double on the CPU: a few ulp). Gate values
 * spread to ±30 so σ saturates on both sides; counts with a tail past the 4-wide vector path.
 */
@Tag("gpu")
class SwigluKernelsTest {
    private static final double TOL = 1e-5;
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    @Test
    void forwardAndBackwardMatchCpu() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        for (int n : new int[] {1, 3, 4, 1001, 18944 * 3 + 1, 1 << 20}) check(seed, r, n);
    }

    private void check(long seed, SplittableRandom r, int n) {
        CpuBackend cpu = new CpuBackend();
        SwigluKernels k = new SwigluKernels(api);
        try (Arena arena = Arena.ofShared()) {
            float[] gate = new float[n];
            for (int i = 0; i < n; i++) gate[i] = (float) (r.nextBoolean() ? r.nextGaussian() * 3 : r.nextDouble(-30, 30));
            float[] up = GpuParity.gaussian(r, n, 1.0), d = GpuParity.gaussian(r, n, 1.0);
            Tensor gt = GpuParity.f32(arena, gate, n), ut = GpuParity.f32(arena, up, n), dt = GpuParity.f32(arena, d, n);
            Tensor out = GpuParity.f32(arena, new float[n], n), dg = GpuParity.f32(arena, new float[n], n), du = GpuParity.f32(arena, new float[n], n);
            cpu.swiglu(gt, ut, out);
            cpu.swigluBackward(dt, gt, ut, dg, du);
            try (DeviceBuffer bg = GpuParity.upload(api, gt); DeviceBuffer bu = GpuParity.upload(api, ut);
                    DeviceBuffer bd = GpuParity.upload(api, dt)) {
                for (int poison : GpuParity.POISONS) {
                    String c = "seed=" + seed + " n=" + n + " poison=0x" + Integer.toHexString(poison);
                    try (DeviceBuffer o = GpuParity.poisoned(api, 4L * n, poison); DeviceBuffer og = GpuParity.poisoned(api, 4L * n, poison);
                            DeviceBuffer ou = GpuParity.poisoned(api, 4L * n, poison)) {
                        k.forward(bg, bu, n, o);
                        k.backward(bd, bg, bu, n, og, ou);
                        GpuParity.assertClose("swiglu out " + c, out.toFloatArray(), GpuParity.downloadF32(arena, o, n), TOL, 1);
                        GpuParity.assertClose("swiglu dGate " + c, dg.toFloatArray(), GpuParity.downloadF32(arena, og, n), TOL, 1);
                        GpuParity.assertClose("swiglu dUp " + c, du.toFloatArray(), GpuParity.downloadF32(arena, ou, n), TOL, 1);
                    }
                }
            }
        }
    }
}
