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
 * cuda/rms_norm.cu against {@link CpuBackend#rmsNorm} / {@link CpuBackend#rmsNormBackward} on
 * fresh Gaussians, F32 and BF16 activations (the CPU runs on the same bf16-representable values
 * in fp32). y and dx within 1e-5 · (|want| + 1) for F32, 1e-2 · (|want| + 1e-3) for BF16 (one
 * rounding of the fp32 result); rstd within 1e-5 relative; dWeight (f32 in both cases, fp32 sums
 * of the same inputs) within 1e-5 · (|want| + 1) after accumulating onto the same random starting
 * values on both sides (the += contract). Rows past one dWeight slice (64) and dims that are
 * odd or not a multiple of the block. The backward runs twice on one input: the two dWeights must
 * be bit-identical (deterministic reduction).
 */
@Tag("gpu")
class RmsNormKernelsTest {
    private static final double F32_TOL = 1e-5;
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
            for (int[] s : new int[][] {{1, 1}, {3, 7}, {5, 896}, {130, 257}, {64, 3584}, {200, 1000}}) {
                check(seed, r, type, s[0], s[1]);
            }
        }
    }

    private void check(long seed, SplittableRandom r, DType type, int rows, int dim) {
        String ctx = "seed=" + seed + " " + type + " rows=" + rows + " dim=" + dim;
        double tol = GpuParity.tolerance(type), floor = type == DType.BF16 ? 1e-3 : 1;
        CpuBackend cpu = new CpuBackend();
        RmsNormKernels k = new RmsNormKernels(api);
        float eps = 1e-6f;
        int n = rows * dim;
        try (Arena arena = Arena.ofShared()) {
            float[] x = GpuParity.representable(type, GpuParity.gaussian(r, n, 2.0));
            float[] g = GpuParity.representable(type, GpuParity.gaussian(r, n, 1.0));
            float[] w = GpuParity.gaussian(r, dim, 1.0), dw0 = GpuParity.gaussian(r, dim, 1.0);
            Tensor xt = GpuParity.f32(arena, x, rows, dim), wt = GpuParity.f32(arena, w, dim);
            Tensor yt = GpuParity.f32(arena, new float[n], rows, dim), rt = GpuParity.f32(arena, new float[rows], rows);
            cpu.rmsNorm(xt, wt, eps, yt, rt);
            Tensor gt = GpuParity.f32(arena, g, rows, dim), dxt = GpuParity.f32(arena, new float[n], rows, dim);
            Tensor dwt = GpuParity.f32(arena, dw0.clone(), dim);
            cpu.rmsNormBackward(gt, xt, wt, rt, dxt, dwt);

            long bytes = GpuParity.bytes(type, n);
            try (DeviceBuffer dx = GpuParity.upload(api, GpuParity.tensor(arena, type, x, n));
                    DeviceBuffer dg = GpuParity.upload(api, GpuParity.tensor(arena, type, g, n));
                    DeviceBuffer dwb = GpuParity.upload(api, arena, w);
                    DeviceBuffer cpuRstd = GpuParity.upload(api, arena, rt.toFloatArray());
                    DeviceBuffer ws = new DeviceBuffer(api, k.workspaceBytes(rows, dim))) {
                for (int poison : GpuParity.POISONS) {
                    try (DeviceBuffer y = GpuParity.poisoned(api, bytes, poison);
                            DeviceBuffer rstd = GpuParity.poisoned(api, 4L * rows, poison);
                            DeviceBuffer gx = GpuParity.poisoned(api, bytes, poison);
                            DeviceBuffer gw = GpuParity.upload(api, arena, dw0);
                            DeviceBuffer gw2 = GpuParity.upload(api, arena, dw0)) {
                        String c = ctx + " poison=0x" + Integer.toHexString(poison);
                        k.forward(type, dx, dwb, eps, rows, dim, y, rstd);
                        GpuParity.assertClose("rmsnorm y " + c, yt.toFloatArray(), GpuParity.download(arena, y, type, n), tol, floor);
                        GpuParity.assertClose("rmsnorm rstd " + c, rt.toFloatArray(), GpuParity.downloadF32(arena, rstd, rows), F32_TOL, 0);
                        // The backward reads the CPU's rstd, so dx and dWeight are checked on their own.
                        k.backward(type, dg, dx, dwb, cpuRstd, rows, dim, gx, gw, ws);
                        k.backward(type, dg, dx, dwb, cpuRstd, rows, dim, gx, gw2, ws);
                        GpuParity.assertClose("rmsnorm dx " + c, dxt.toFloatArray(), GpuParity.download(arena, gx, type, n), tol, floor);
                        float[] got = GpuParity.downloadF32(arena, gw, dim);
                        GpuParity.assertClose("rmsnorm dWeight " + c, dwt.toFloatArray(), got, F32_TOL, 1);
                        GpuParity.assertBits("rmsnorm dWeight run-to-run " + c, got, GpuParity.downloadF32(arena, gw2, dim));
                    }
                }
            }
        }
    }
}
