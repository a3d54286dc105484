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
 * cuda/rope.cu against {@link CpuBackend#rope} / {@link CpuBackend#ropeBackward}: F32 within
 * 1e-5 · (|want| + 1) (the kernel forms the fp32 angle and rounds each product as the CPU does;
 * only the double cos / sin may differ in the last bit), BF16 within 1e-2 · (|want| + 1e-3) on
 * bf16-representable inputs. Fresh Gaussian inputs and random positions up to 2^17 (large
 * angles exercise the argument reduction), Qwen-like inverse frequencies (base 1e6), scaling 1
 * and a YaRN-like 1.17, partial rotation (pass-through dims), and the in-place form.
 */
@Tag("gpu")
class RopeKernelsTest {
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    @Test
    void forwardAndBackwardMatchCpu() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        // {tokens, heads, headDim, half}
        for (DType type : GpuParity.ACTIVATIONS) {
            for (int[] s : new int[][] {{1, 1, 2, 1}, {7, 3, 20, 10}, {7, 3, 12, 4}, {129, 5, 128, 64}, {33, 2, 256, 128}}) {
                for (float scaling : new float[] {1f, 1.17f}) check(seed, r, type, s[0], s[1], s[2], s[3], scaling);
            }
        }
    }

    private void check(long seed, SplittableRandom r, DType type, int tokens, int heads, int dh, int half, float scaling) {
        String ctx = String.format("seed=%d %s tokens=%d heads=%d headDim=%d half=%d scaling=%s", seed, type, tokens, heads,
                dh, half, scaling);
        double tol = GpuParity.tolerance(type), floor = type == DType.BF16 ? 1e-3 : 1;
        CpuBackend cpu = new CpuBackend();
        RopeKernels k = new RopeKernels(api);
        int n = tokens * heads * dh;
        float[] invFreq = new float[half];
        for (int j = 0; j < half; j++) invFreq[j] = (float) (1.0 / Math.pow(1e6, 2.0 * j / (2 * half)));
        int[] pos = new int[tokens];
        for (int t = 0; t < tokens; t++) pos[t] = r.nextInt(1 << 17);
        try (Arena arena = Arena.ofShared()) {
            float[] x = GpuParity.representable(type, GpuParity.gaussian(r, n, 1.0));
            float[] g = GpuParity.representable(type, GpuParity.gaussian(r, n, 1.0));
            Tensor xt = GpuParity.f32(arena, x, tokens, heads, dh), gt = GpuParity.f32(arena, g, tokens, heads, dh);
            Tensor pt = GpuParity.i32(arena, pos);
            Tensor yt = GpuParity.f32(arena, new float[n], tokens, heads, dh), dxt = GpuParity.f32(arena, new float[n], tokens, heads, dh);
            cpu.rope(xt, pt, invFreq, scaling, yt);
            cpu.ropeBackward(gt, pt, invFreq, scaling, dxt);
            Tensor xd = GpuParity.tensor(arena, type, x, n), gd = GpuParity.tensor(arena, type, g, n);
            long bytes = GpuParity.bytes(type, n);
            try (DeviceBuffer dx = GpuParity.upload(api, xd); DeviceBuffer dg = GpuParity.upload(api, gd);
                    DeviceBuffer dp = GpuParity.upload(api, pt); DeviceBuffer df = GpuParity.upload(api, arena, invFreq)) {
                for (int poison : GpuParity.POISONS) {
                    String c = ctx + " poison=0x" + Integer.toHexString(poison);
                    try (DeviceBuffer y = GpuParity.poisoned(api, bytes, poison); DeviceBuffer gx = GpuParity.poisoned(api, bytes, poison)) {
                        k.forward(type, dx, dp, df, half, tokens, heads, dh, scaling, y);
                        k.backward(type, dg, dp, df, half, tokens, heads, dh, scaling, gx);
                        GpuParity.assertClose("rope forward " + c, yt.toFloatArray(), GpuParity.download(arena, y, type, n), tol, floor);
                        GpuParity.assertClose("rope backward " + c, dxt.toFloatArray(), GpuParity.download(arena, gx, type, n), tol, floor);
                    }
                }
                try (DeviceBuffer inPlace = GpuParity.upload(api, xd)) {
                    k.forward(type, inPlace, dp, df, half, tokens, heads, dh, scaling, inPlace);
                    GpuParity.assertClose("rope in place " + ctx, yt.toFloatArray(), GpuParity.download(arena, inPlace, type, n), tol, floor);
                }
            }
        }
    }
}
