package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuda/swiglu.cu against {@link CpuBackend#swiglu} / {@link CpuBackend#swigluBackward}, for F32
 * within 1e-5 · (|want| + 1) (σ in fp32 on the GPU, in double on the CPU: a few ulp) and for BF16
 * within 1e-2 · (|want| + 1e-3) (the CPU runs on the same bf16-representable inputs in fp32; the
 * GPU rounds each output once). Gate values spread to ±30 so σ saturates on both sides; counts
 * with a tail past the 4-wide f32 vector path.
 */
@Tag("gpu")
class SwigluKernelsTest {
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    @Test
    void forwardAndBackwardMatchCpu() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        for (DType type : GpuParity.ACTIVATIONS) {
            for (int n : new int[] {1, 3, 4, 1001, 18944 * 3 + 1, 1 << 20}) check(seed, r, type, n);
        }
    }

    private void check(long seed, SplittableRandom r, DType type, int n) {
        CpuBackend cpu = new CpuBackend();
        SwigluKernels k = new SwigluKernels(api);
        double tol = GpuParity.tolerance(type), floor = type == DType.BF16 ? 1e-3 : 1;
        try (Arena arena = Arena.ofShared()) {
            float[] gate = new float[n];
            for (int i = 0; i < n; i++) gate[i] = (float) (r.nextBoolean() ? r.nextGaussian() * 3 : r.nextDouble(-30, 30));
            gate = GpuParity.representable(type, gate);
            float[] up = GpuParity.representable(type, GpuParity.gaussian(r, n, 1.0));
            float[] d = GpuParity.representable(type, GpuParity.gaussian(r, n, 1.0));
            Tensor gt = GpuParity.f32(arena, gate, n), ut = GpuParity.f32(arena, up, n), dt = GpuParity.f32(arena, d, n);
            Tensor out = GpuParity.f32(arena, new float[n], n), dg = GpuParity.f32(arena, new float[n], n), du = GpuParity.f32(arena, new float[n], n);
            cpu.swiglu(gt, ut, out);
            cpu.swigluBackward(dt, gt, ut, dg, du);
            long bytes = GpuParity.bytes(type, n);
            try (DeviceBuffer bg = GpuParity.upload(api, GpuParity.tensor(arena, type, gate, n));
                    DeviceBuffer bu = GpuParity.upload(api, GpuParity.tensor(arena, type, up, n));
                    DeviceBuffer bd = GpuParity.upload(api, GpuParity.tensor(arena, type, d, n))) {
                for (int poison : GpuParity.POISONS) {
                    String c = "seed=" + seed + " " + type + " n=" + n + " poison=0x" + Integer.toHexString(poison);
                    try (DeviceBuffer o = GpuParity.poisoned(api, bytes, poison); DeviceBuffer og = GpuParity.poisoned(api, bytes, poison);
                            DeviceBuffer ou = GpuParity.poisoned(api, bytes, poison)) {
                        k.forward(type, bg, bu, n, o);
                        k.backward(type, bd, bg, bu, n, og, ou);
                        GpuParity.assertClose("swiglu out " + c, out.toFloatArray(), GpuParity.download(arena, o, type, n), tol, floor);
                        GpuParity.assertClose("swiglu dGate " + c, dg.toFloatArray(), GpuParity.download(arena, og, type, n), tol, floor);
                        GpuParity.assertClose("swiglu dUp " + c, du.toFloatArray(), GpuParity.download(arena, ou, type, n), tol, floor);
                    }
                }
            }
        }
    }
}
