package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuda/rms_norm.cu against {@link CpuBackend#rmsNorm} / {@link CpuBackend#rmsNormBackward} on
 * fresh Gaussians: y, rstd and dx within 1e-5 · (|want| + 1), dWeight within 1e-5 · (|want| + 1)
 * after accumulating onto the same random starting values on both sides (the += contract).
 * Rows past one dWeight slice (64) and dims that are odd or not a multiple of the block.
 * The backward also runs twice on one input: the two dWeights must be bit-identical
 * (deterministic reduction).
 */
@Tag("gpu")
class RmsNormKernelsTest {
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
        for (int[] s : new int[][] {{1, 1}, {3, 7}, {5, 896}, {130, 257}, {64, 3584}, {200, 1000}}) {
            check(seed, r, s[0], s[1]);
        }
    }

    private void check(long seed, SplittableRandom r, int rows, int dim) {
        String ctx = "seed=" + seed + " rows=" + rows + " dim=" + dim;
        CpuBackend cpu = new CpuBackend();
        RmsNormKernels k = new RmsNormKernels(api);
        float eps = 1e-6f;
        try (Arena arena = Arena.ofShared()) {
            float[] x = GpuParity.gaussian(r, rows * dim, 2.0), w = GpuParity.gaussian(r, dim, 1.0);
            float[] g = GpuParity.gaussian(r, rows * dim, 1.0), dw0 = GpuParity.gaussian(r, dim, 1.0);
            Tensor xt = GpuParity.f32(arena, x, rows, dim), wt = GpuParity.f32(arena, w, dim);
            Tensor yt = GpuParity.f32(arena, new float[rows * dim], rows, dim), rt = GpuParity.f32(arena, new float[rows], rows);
            cpu.rmsNorm(xt, wt, eps, yt, rt);
            Tensor gt = GpuParity.f32(arena, g, rows, dim), dxt = GpuParity.f32(arena, new float[rows * dim], rows, dim);
            Tensor dwt = GpuParity.f32(arena, dw0.clone(), dim);
            cpu.rmsNormBackward(gt, xt, wt, rt, dxt, dwt);

            try (DeviceBuffer dx = upload(arena, x); DeviceBuffer dwb = upload(arena, w); DeviceBuffer dg = upload(arena, g);
                    DeviceBuffer ws = new DeviceBuffer(api, k.workspaceBytes(rows, dim))) {
                for (int poison : GpuParity.POISONS) {
                    try (DeviceBuffer y = GpuParity.poisoned(api, 4L * rows * dim, poison);
                            DeviceBuffer rstd = GpuParity.poisoned(api, 4L * rows, poison);
                            DeviceBuffer gx = GpuParity.poisoned(api, 4L * rows * dim, poison);
                            DeviceBuffer gw = upload(arena, dw0);
                            DeviceBuffer gw2 = upload(arena, dw0)) {
                        String c = ctx + " poison=0x" + Integer.toHexString(poison);
                        k.forward(dx, dwb, eps, rows, dim, y, rstd);
                        GpuParity.assertClose("rmsnorm y " + c, yt.toFloatArray(), GpuParity.downloadF32(arena, y, rows * dim), TOL, 1);
                        GpuParity.assertClose("rmsnorm rstd " + c, rt.toFloatArray(), GpuParity.downloadF32(arena, rstd, rows), TOL, 0);
                        // The backward reads the CPU's rstd, so dx and dWeight are checked on their own.
                        try (DeviceBuffer cpuRstd = upload(arena, rt.toFloatArray())) {
                            k.backward(dg, dx, dwb, cpuRstd, rows, dim, gx, gw, ws);
                            k.backward(dg, dx, dwb, cpuRstd, rows, dim, gx, gw2, ws);
                        }
                        GpuParity.assertClose("rmsnorm dx " + c, dxt.toFloatArray(), GpuParity.downloadF32(arena, gx, rows * dim), TOL, 1);
                        float[] got = GpuParity.downloadF32(arena, gw, dim);
                        GpuParity.assertClose("rmsnorm dWeight " + c, dwt.toFloatArray(), got, TOL, 1);
                        GpuParity.assertBits("rmsnorm dWeight run-to-run " + c, got, GpuParity.downloadF32(arena, gw2, dim));
                    }
                }
            }
        }
    }

    private DeviceBuffer upload(Arena arena, float[] v) {
        return GpuParity.upload(api, arena, v);
    }
}
