package jlora.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import jlora.backend.Backend;
import jlora.backend.DenseWeight;
import jlora.backend.Dropout;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A chain recorded on the tape, LoRA linear → RMSNorm (trainable weight) → fused cross-entropy,
 * against float64 central differences of the same chain written plainly here: the LoRA A, B and
 * norm-weight gradients within 1e-4 of the largest FD gradient. The same chain under a checkpoint
 * scope must give the same gradients (recomputation is deterministic: within 1e-6); a variant
 * feeds one tensor to two ops (a residual add) and passes through views; and the
 * frozen input gets no gradient.
 */
class TapeTest {
    private static final int T = 5, IN = 18, D = 17, R = 3, V = 11;
    private static final float SCALE = 2f, EPS = 1e-6f, LOSS_SCALE = 0.25f;
    private static final int[] TARGETS = {3, Backend.IGNORE_INDEX, 10, 0, 7};

    private final long seed = System.nanoTime();
    private final SplittableRandom rnd = new SplittableRandom(seed);
    private final Arena arena = Arena.ofAuto();

    private double[] uniform(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextDouble() * 2 - 1);
        return v;
    }

    private Tensor f32(double[] v, long... dims) {
        float[] f = new float[v.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) v[i];
        return Tensor.of(DType.F32, Shape.of(dims), f, arena);
    }

    /**
     * lossScale · Σ CE(y · headᵀ) in float64, y = rmsNorm(h; nw) with h = x·Wᵀ + s·x·Aᵀ·Bᵀ, or
     * y = h + rmsNorm(h; nw) with {@code residual} (h then feeds two ops: gradients must add).
     */
    private static double objective(boolean residual, double[] x, double[] w, double[] a, double[] b, double[] nw, double[] head) {
        double total = 0;
        for (int t = 0; t < T; t++) {
            double[] h = new double[D], u = new double[R];
            for (int r = 0; r < R; r++) for (int i = 0; i < IN; i++) u[r] += x[t * IN + i] * a[r * IN + i];
            for (int n = 0; n < D; n++) {
                for (int i = 0; i < IN; i++) h[n] += x[t * IN + i] * w[n * IN + i];
                for (int r = 0; r < R; r++) h[n] += SCALE * u[r] * b[n * R + r];
            }
            double ss = 0;
            for (double v : h) ss += v * v;
            double rstd = 1 / Math.sqrt(ss / D + EPS);
            if (TARGETS[t] == Backend.IGNORE_INDEX) continue;
            double[] logits = new double[V];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                for (int n = 0; n < D; n++) logits[v] += (h[n] * rstd * nw[n] + (residual ? h[n] : 0)) * head[v * D + n];
                max = Math.max(max, logits[v]);
            }
            double sum = 0;
            for (double l : logits) sum += Math.exp(l - max);
            total += LOSS_SCALE * (max + Math.log(sum) - logits[TARGETS[t]]);
        }
        return total;
    }

    private static double[] fd(double[] p, java.util.function.DoubleSupplier f) {
        double[] g = new double[p.length];
        double h = 1e-5;
        for (int i = 0; i < p.length; i++) {
            double keep = p[i];
            p[i] = keep + h;
            double plus = f.getAsDouble();
            p[i] = keep - h;
            double minus = f.getAsDouble();
            p[i] = keep;
            g[i] = (plus - minus) / (2 * h);
        }
        return g;
    }

    private void assertClose(String what, double[] ref, Tensor got, double tol) {
        double scale = 0, worst = -1;
        int at = -1;
        for (int i = 0; i < ref.length; i++) {
            scale = Math.max(scale, Math.abs(ref[i]));
            double e = Math.abs(got.getFloat(i) - ref[i]);
            if (Double.isNaN(e)) e = Double.POSITIVE_INFINITY;
            if (e > worst) {
                worst = e;
                at = i;
            }
        }
        if (!(worst <= tol * scale)) {
            fail(String.format("%s: relative error %.3g > %.1g at %d: got %s, reference %s (seed %d)",
                    what, worst / scale, tol, at, got.getFloat(at), ref[at], seed));
        }
    }

    /** Runs the chain, optionally checkpointing the LoRA+norm block; returns {dA, dB, dNw}. */
    private Tensor[] run(boolean checkpoint, boolean residual, double[] x, double[] w, double[] a, double[] b, double[] nw, double[] head) {
        Tensor xt = f32(x, T, IN), at = f32(a, R, IN), bt = f32(b, D, R), nwt = f32(nw, D);
        Tensor dA = f32(new double[R * IN], R, IN), dB = f32(new double[D * R], D, R), dNw = f32(new double[D], D);
        var weight = new DenseWeight(f32(w, D, IN));
        var headW = new DenseWeight(f32(head, V, D));
        int[] targets = TARGETS;
        Tensor targetT = Tensor.allocate(DType.I32, Shape.of(T), arena);
        for (int t = 0; t < T; t++) targetT.data().setAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, t, targets[t]);
        try (Tape tape = new Tape(new CpuBackend())) {
            tape.trainable(at, dA);
            tape.trainable(bt, dB);
            tape.trainable(nwt, dNw);
            Tape.Block block = (tp, in) -> {
                Tensor h = Ops.loraLinear(tp, in.get(0), weight, null, at, bt, SCALE, Dropout.NONE);
                // Through a [T, 1, D] view and back, as q/k norms see heads: views must pass gradients.
                Tensor n = residual ? Ops.view(tp, Ops.rmsNorm(tp, Ops.view(tp, h, T, 1, D), nwt, EPS), T, D) : Ops.rmsNorm(tp, h, nwt, EPS);
                return residual ? Ops.add(tp, h, n) : n;
            };
            Tensor y = checkpoint ? tape.checkpoint("layer", List.of(xt), block) : block.forward(tape, List.of(xt));
            LossSum loss = Ops.crossEntropy(tape, y, headW, null, targetT, 4);
            assertEquals(4, loss.count());
            assertFalse(tape.needsGrad(xt), "the frozen input must not need a gradient");
            assertTrue(tape.needsGrad(y));
            Map<Tensor, Tensor> grads = tape.backward(LOSS_SCALE);
            assertNull(grads.get(xt), "no gradient is formed for the frozen input");
        }
        return new Tensor[] {dA, dB, dNw};
    }

    @Test
    void chainGradientsMatchFloat64FiniteDifferencesWithAndWithoutCheckpoint() {
        check(false);
    }

    @Test
    void tensorFeedingTwoOpsCollectsTheSumOfTheirGradients() {
        check(true);
    }

    private void check(boolean residual) {
        double[] x = uniform(T * IN), w = uniform(D * IN), a = uniform(R * IN), b = uniform(D * R);
        double[] nw = uniform(D), head = uniform(V * D);
        java.util.function.DoubleSupplier f = () -> objective(residual, x, w, a, b, nw, head);
        double[][] want = {fd(a, f), fd(b, f), fd(nw, f)};
        String[] names = {"dA", "dB", "dNormWeight"};
        Tensor[] plain = run(false, residual, x, w, a, b, nw, head);
        Tensor[] ckpt = run(true, residual, x, w, a, b, nw, head);
        for (int i = 0; i < 3; i++) {
            assertClose(names[i] + " (tape)", want[i], plain[i], 1e-4);
            assertClose(names[i] + " (checkpointed)", want[i], ckpt[i], 1e-4);
            double[] p = new double[(int) plain[i].numel()];
            for (int j = 0; j < p.length; j++) p[j] = plain[i].getFloat(j);
            assertClose(names[i] + " checkpointed vs plain tape", p, ckpt[i], 1e-6);
        }
    }
}
