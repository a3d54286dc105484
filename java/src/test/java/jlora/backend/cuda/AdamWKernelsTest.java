package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuda/adamw.cu against an fp64 evaluation, written here, of torch.optim.AdamW's single-tensor
 * update (torch/optim/adamw.py, _single_tensor_adamw: p *= 1 − lr·wd; m.lerp_(g, 1 − β1);
 * v = β2·v + (1 − β2)·g²; denom = sqrt(v) / sqrt(1 − β2^t) + eps; p −= lr / (1 − β1^t) · m / denom).
 * Three consecutive steps (bias correction changes per step), with the gradient scaled by the
 * clip coefficient the grad-norm kernel left on the device. p within 1e-5 · (|want| + 1e-3)
 * (p ~ 0.05, so each ~2e-4 update is checked to about 0.3 %), m within 1e-5 · (|want| + 1e-3 ·
 * max|m|), v within 1e-5 relative; the norm within 1e-5 relative of the fp64 norm, the coefficient
 * likewise. Counts with a tail past the 4-wide vector path.
 */
@Tag("gpu")
class AdamWKernelsTest {
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    @Test
    void threeClippedStepsMatchTorchFormulaInFloat64() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        for (int n : new int[] {1, 7, 4099, 1 << 20}) check(seed, r, n);
    }

    private void check(long seed, SplittableRandom r, int n) {
        AdamWKernels k = new AdamWKernels(api);
        AdamWKernels.Hyper h = new AdamWKernels.Hyper(2e-4f, 0.9f, 0.999f, 1e-8f, 0.01f);
        float maxNorm = 1.0f;
        try (Arena arena = Arena.ofShared()) {
            float[] p0 = GpuParity.gaussian(r, n, 0.05);
            double[] p = new double[n], m = new double[n], v = new double[n];
            for (int i = 0; i < n; i++) p[i] = p0[i];
            try (DeviceBuffer bp = GpuParity.upload(api, arena, p0); DeviceBuffer bm = GpuParity.upload(api, arena, new float[n]);
                    DeviceBuffer bv = GpuParity.upload(api, arena, new float[n]);
                    DeviceBuffer ws = new DeviceBuffer(api, k.gradNormWorkspaceBytes())) {
                for (int t = 1; t <= 3; t++) {
                    String c = "seed=" + seed + " n=" + n + " step=" + t;
                    // Gradients large enough that clipping bites in the larger cases.
                    float[] g = GpuParity.gaussian(r, n, 3.0 / Math.sqrt(n) * (t == 2 ? 0.1 : 1.0));
                    double ss = 0;
                    for (float x : g) ss += (double) x * x;
                    double norm = Math.sqrt(ss), coef = Math.min(1.0, maxNorm / (norm + 1e-6));
                    try (DeviceBuffer bg = GpuParity.upload(api, arena, g); DeviceBuffer out = GpuParity.poisoned(api, 8, 0xFF)) {
                        k.gradNorm(bg, n, maxNorm, ws, out);
                        float[] got = GpuParity.downloadF32(arena, out, 2);
                        GpuParity.assertClose("grad norm " + c, new float[] {(float) norm, (float) coef}, got, 1e-5, 0);
                        k.step(bp, bg, bm, bv, n, h, t, out, 1);
                        // fp64 reference, with the coefficient the device computed (checked above).
                        double bc1 = 1 - Math.pow(h.beta1(), t), bc2s = Math.sqrt(1 - Math.pow(h.beta2(), t));
                        for (int i = 0; i < n; i++) {
                            double gi = (double) g[i] * got[1];
                            p[i] *= 1 - (double) h.lr() * h.weightDecay();
                            m[i] += (1 - (double) h.beta1()) * (gi - m[i]);
                            v[i] = h.beta2() * v[i] + (1 - (double) h.beta2()) * gi * gi;
                            p[i] -= h.lr() / bc1 * m[i] / (Math.sqrt(v[i]) / bc2s + h.eps());
                        }
                    }
                    GpuParity.assertClose("adamw param " + c, toFloat(p), GpuParity.downloadF32(arena, bp, n), 1e-5, 1e-3);
                    // m can cancel towards 0, and fp32 fmaf leaves an absolute error of a few ulps of
                    // the largest term (~ max|m|): the floor 0.05·max|m| makes the bound ~8 such ulps
                    // (1e-5 · 0.05 ≈ 8 · 2^-24). v >= 0 never cancels: purely relative.
                    GpuParity.assertClose("adamw m " + c, toFloat(m), GpuParity.downloadF32(arena, bm, n), 1e-5, 0.05 * maxAbs(m));
                    GpuParity.assertClose("adamw v " + c, toFloat(v), GpuParity.downloadF32(arena, bv, n), 1e-5, 0);
                }
            }
        }
    }

    private static double maxAbs(double[] d) {
        double m = 0;
        for (double x : d) m = Math.max(m, Math.abs(x));
        return m;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
