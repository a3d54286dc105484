package jlora.train;

import static jlora.train.TrainChecks.assertClose;
import static jlora.train.TrainChecks.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import jlora.UserError;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AdamW against the AdamW algorithm evaluated in float64 in this file (Loshchilov and Hutter's
 * decoupled decay as torch.optim.AdamW applies it: decay p by lr·wd first, then the bias-corrected
 * Adam step with eps added to sqrt(v̂)), within fp32 rounding; a quadratic bowl as a convergence
 * check; the vector body against the scalar tail bit for bit; save → load → continue against an
 * uninterrupted run bit for bit.
 */
class AdamWTest {
    @TempDir
    Path dir;

    /** Plain float64 AdamW on one parameter vector, the reference the fp32 optimizer is held to. */
    static final class Reference {
        final double[] p;
        final double[] m;
        final double[] v;
        /** m with |g| in place of g: the size of the terms m sums, which bounds its rounding error. */
        final double[] mScale;
        int t;

        Reference(float[] p0) {
            p = new double[p0.length];
            for (int i = 0; i < p0.length; i++) p[i] = p0[i];
            m = new double[p0.length];
            v = new double[p0.length];
            mScale = new double[p0.length];
        }

        void step(float[] g, double lr, double beta1, double beta2, double eps, double wd) {
            t++;
            for (int i = 0; i < p.length; i++) {
                p[i] -= lr * wd * p[i];
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                mScale[i] = beta1 * mScale[i] + (1 - beta1) * Math.abs(g[i]);
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(beta1, t));
                double vHat = v[i] / (1 - Math.pow(beta2, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
    }

    @Test
    void threeStepsMatchFloat64AdamW() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        // beta1 0.3 takes lerp's other branch (weight >= 0.5); a large eps makes its placement visible
        double[][] settings = {{0.9, 0.999, 1e-8, 0.1}, {0.3, 0.95, 1e-3, 0.0}, {0.9, 0.99, 1e-2, 0.5}};
        for (double[] s : settings) {
            try (Arena arena = Arena.ofShared()) {
                List<Param> params = TrainChecks.randomParams(rnd, new int[] {3, 17, 70}, arena);
                Reference[] ref = params.stream().map(p -> new Reference(p.value().toFloatArray())).toArray(Reference[]::new);
                var hp = new AdamHyperparameters(s[0], s[1], s[2], s[3]);
                try (AdamW opt = new AdamW(params, hp, StateStore.host())) {
                    double[] lrs = {1e-2, 3e-2, 5e-3};
                    for (int step = 0; step < 3; step++) {
                        for (int k = 0; k < params.size(); k++) {
                            float[] g = new float[(int) params.get(k).numel()];
                            // gradients across four decades, so v spans a wide range
                            for (int i = 0; i < g.length; i++) g[i] = (float) (rnd.nextGaussian() * Math.pow(10, -rnd.nextInt(4)));
                            TrainChecks.setGrad(params.get(k), g);
                            ref[k].step(g, lrs[step], s[0], s[1], s[2], s[3]);
                        }
                        opt.step(lrs[step]);
                    }
                    assertEquals(3, opt.stepCount());
                    OptimizerState st = opt.saveState();
                    for (int k = 0; k < params.size(); k++) {
                        String what = "seed " + seed + " betas/eps/wd " + java.util.Arrays.toString(s) + " param " + k;
                        // a few fp32 roundings per step on p (|p| ~ 1) and on the moments
                        assertClose(ref[k].p, params.get(k).value().toFloatArray(), 1e-6, 1e-7, what + " value");
                        assertClose(ref[k].m, st.tensors().get(params.get(k).name() + ".exp_avg").toFloatArray(), ref[k].mScale, 1e-6, 0, what + " exp_avg");
                        assertClose(ref[k].v, st.tensors().get(params.get(k).name() + ".exp_avg_sq").toFloatArray(), 1e-6, 1e-15, what + " exp_avg_sq");
                    }
                }
            }
        }
    }

    /**
     * training.embedding_learning_rate: a parameter with lrScale s is its own parameter group, so
     * AdamW moves it as float64 AdamW at lr·s (decay lr·s·wd included) while the others use lr;
     * 8-bit AdamW with lrScale s gives the same bits as 8-bit AdamW stepped at lr·s.
     */
    @Test
    void lrScaleIsAParameterGroupWithItsOwnRate() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        double scale = 0.125, wd = 0.1;
        double[] lrs = {1e-2, 3e-2, 5e-3};
        try (Arena arena = Arena.ofShared()) {
            List<Param> base = TrainChecks.randomParams(rnd, new int[] {17, 300}, arena);
            Param table = new Param("model.embed_tokens.weight", base.get(1).value(), base.get(1).grad(), true, scale);
            List<Param> params = List.of(base.get(0), table);
            Reference[] ref = params.stream().map(p -> new Reference(p.value().toFloatArray())).toArray(Reference[]::new);
            // The same table alone under 8-bit AdamW, twice: with lrScale, and at the scaled lr.
            List<Param> q1 = TrainChecks.randomParams(new Random(seed), new int[] {5000}, arena);
            List<Param> q2 = TrainChecks.randomParams(new Random(seed), new int[] {5000}, arena);
            Param scaled = new Param(q1.getFirst().name(), q1.getFirst().value(), q1.getFirst().grad(), true, scale);
            var hp = new AdamHyperparameters(0.9, 0.999, 1e-8, wd);
            try (AdamW opt = new AdamW(params, hp, StateStore.host());
                 AdamW8bit o1 = new AdamW8bit(List.of(scaled), hp, StateStore.host());
                 AdamW8bit o2 = new AdamW8bit(q2, hp, StateStore.host())) {
                for (int step = 0; step < 3; step++) {
                    for (int k = 0; k < params.size(); k++) {
                        float[] g = new float[(int) params.get(k).numel()];
                        for (int i = 0; i < g.length; i++) g[i] = (float) rnd.nextGaussian();
                        TrainChecks.setGrad(params.get(k), g);
                        ref[k].step(g, lrs[step] * (k == 1 ? scale : 1), 0.9, 0.999, 1e-8, wd);
                        if (k == 1) {
                            TrainChecks.setGrad(scaled, g);
                            TrainChecks.setGrad(q2.getFirst(), g);
                        }
                    }
                    opt.step(lrs[step]);
                    o1.step(lrs[step]);
                    o2.step(lrs[step] * scale);
                }
                for (int k = 0; k < params.size(); k++) {
                    assertClose(ref[k].p, params.get(k).value().toFloatArray(), 1e-6, 1e-7, "seed " + seed + " param " + k);
                }
                assertSameBytes(q2.getFirst().value(), scaled.value(), "8-bit AdamW lrScale vs scaled lr, seed " + seed);
            }
        }
    }

    /**
     * Worked by hand: under a constant gradient the bias corrections make m̂ = g and v̂ = g² at every
     * step, so each step is p ← p·(1 - lr·wd) - lr·g/(|g| + eps). With lr 0.1, wd 0.1, eps 1e-8:
     * p0 = 1, g = 0.5 gives 0.890000002, 0.78110000398, 0.6732890059402; p0 = -0.5, g = -2 gives
     * -0.3950000005, -0.291050000995, -0.18813950148505. Without bias correction step 1 would move
     * p by 0.1·0.05/sqrt(0.00025) ≈ 0.316 instead of 0.1.
     */
    @Test
    void constantGradientByHand() {
        try (Arena arena = Arena.ofShared()) {
            Param a = TrainChecks.param("a", new float[] {1.0f}, arena);
            Param b = TrainChecks.param("b", new float[] {-0.5f}, arena);
            double[][] want = {{0.890000002, 0.78110000398, 0.6732890059402}, {-0.3950000005, -0.291050000995, -0.18813950148505}};
            try (AdamW opt = new AdamW(List.of(a, b), new AdamHyperparameters(0.9, 0.999, 1e-8, 0.1), StateStore.host())) {
                for (int t = 0; t < 3; t++) {
                    TrainChecks.setGrad(a, new float[] {0.5f});
                    TrainChecks.setGrad(b, new float[] {-2.0f});
                    opt.step(0.1);
                    // three fp32 roundings of values below 1 per step: well inside 1e-7
                    assertEquals(want[0][t], a.value().getFloat(0), 1e-7, "p0 = 1, step " + (t + 1));
                    assertEquals(want[1][t], b.value().getFloat(0), 1e-7, "p0 = -0.5, step " + (t + 1));
                }
            }
        }
    }

    @Test
    void convergesOnAQuadraticBowl() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int n = 1000;
        float[] x0 = new float[n];
        double[] a = new double[n];
        double[] c = new double[n];
        for (int i = 0; i < n; i++) {
            x0[i] = (float) rnd.nextGaussian();
            a[i] = 0.1 + 10 * rnd.nextDouble(); // curvatures over two decades
            c[i] = rnd.nextGaussian();
        }
        try (Arena arena = Arena.ofShared()) {
            Param p = TrainChecks.param("w", x0, arena);
            Schedule sched = Schedule.of(Schedule.Type.LINEAR, 400, 20, 0.5);
            try (AdamW opt = new AdamW(List.of(p), new AdamHyperparameters(0.9, 0.999, 1e-8, 0.0), StateStore.host())) {
                double startLoss = loss(p, a, c);
                for (int s = 0; s < 400; s++) {
                    for (int i = 0; i < n; i++) p.grad().setFloat(i, (float) (a[i] * (p.value().getFloat(i) - c[i])));
                    opt.step(sched.lr(0.1, s));
                }
                double endLoss = loss(p, a, c);
                assertTrue(endLoss < startLoss * 1e-5, "seed " + seed + ": loss " + startLoss + " -> " + endLoss);
                double[] target = c.clone();
                assertClose(target, p.value().toFloatArray(), 0, 2e-3, "seed " + seed + " minimum");
            }
        }
    }

    private static double loss(Param p, double[] a, double[] c) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = p.value().getFloat(i) - c[i];
            s += 0.5 * a[i] * d * d;
        }
        return s;
    }

    @Test
    void vectorBodyEqualsScalarTailBitForBit() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int n = 1024;
        try (Arena arena = Arena.ofShared()) {
            List<Param> a = TrainChecks.randomParams(new Random(seed), new int[] {n}, arena);
            List<Param> b = TrainChecks.randomParams(new Random(seed), new int[] {n}, arena);
            Tensor[] ma = {Tensor.allocate(jlora.tensor.DType.F32, a.get(0).value().shape(), arena), null};
            var hp = new AdamHyperparameters(0.9, 0.999, 1e-8, 0.1);
            try (AdamW vec = new AdamW(a, hp, StateStore.host()); AdamW sca = new AdamW(b, hp, StateStore.host())) {
                for (int step = 1; step <= 3; step++) {
                    float[] g = new float[n];
                    for (int i = 0; i < n; i++) g[i] = (float) rnd.nextGaussian();
                    TrainChecks.setGrad(a.get(0), g);
                    TrainChecks.setGrad(b.get(0), g);
                    vec.step(1e-2);
                    // the same step, one element per call: every element through the scalar tail
                    AdamW.Coefficients c = AdamW.Coefficients.of(hp, 1e-2, step);
                    OptimizerState st = sca.saveState();
                    var m = st.tensors().get("layers.0.lora_A.weight.exp_avg").data();
                    var v = st.tensors().get("layers.0.lora_A.weight.exp_avg_sq").data();
                    for (int i = 0; i < n; i++) AdamW.update(b.get(0).value().data(), b.get(0).grad().data(), m, v, i, i + 1, c);
                }
                assertSameBytes(a.get(0).value(), b.get(0).value(), "seed " + seed + " value");
                assertSameBytes(vec.saveState().tensors().firstEntry().getValue(), sca.saveState().tensors().firstEntry().getValue(),
                        "seed " + seed + " exp_avg");
            }
        }
    }

    @Test
    void saveLoadContinueEqualsAnUninterruptedRun() {
        ResumeCheck.run(dir, (params, store) -> new AdamW(params, AdamHyperparameters.defaults(), store));
    }

    @Test
    void zeroGradClearsEveryGradient() {
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(new Random(1), new int[] {5, 300}, arena);
            for (Param p : params) for (int i = 0; i < p.numel(); i++) p.grad().setFloat(i, 1.5f);
            try (AdamW opt = new AdamW(params, AdamHyperparameters.defaults(), StateStore.host())) {
                opt.zeroGrad();
                for (Param p : params) for (float f : p.grad().toFloatArray()) assertEquals(0.0f, f);
            }
        }
    }

    @Test
    void loadingAnotherOptimizersStateIsAUserError() {
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(new Random(2), new int[] {5000}, arena);
            try (AdamW8bit bnb = new AdamW8bit(params, AdamHyperparameters.defaults(), StateStore.host());
                 AdamW opt = new AdamW(params, AdamHyperparameters.defaults(), StateStore.host())) {
                OptimizerCheckpoint.write(dir.resolve("opt.safetensors"), bnb);
                UserError e = assertThrows(UserError.class, () -> OptimizerCheckpoint.read(dir.resolve("opt.safetensors"), opt));
                assertTrue(e.getMessage().contains("opt.safetensors") && e.getMessage().contains("adamw_bnb"), e.getMessage());
            }
            List<Param> other = TrainChecks.randomParams(new Random(2), new int[] {4000}, arena);
            try (AdamW a = new AdamW(params, AdamHyperparameters.defaults(), StateStore.host());
                 AdamW b = new AdamW(other, AdamHyperparameters.defaults(), StateStore.host())) {
                OptimizerCheckpoint.write(dir.resolve("a.safetensors"), a);
                UserError e = assertThrows(UserError.class, () -> OptimizerCheckpoint.read(dir.resolve("a.safetensors"), b));
                assertTrue(e.getMessage().contains("[4000]"), e.getMessage());
            }
        }
    }
}
