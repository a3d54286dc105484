package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;
import static jlora.backend.cpu.Oracle.GRAD_TOL;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jlora.backend.DenseWeight;
import jlora.backend.Dropout;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * LoRA linear against PEFT's unfused formula in float64, y = x·Wᵀ + b + s·((m∘x)·Aᵀ)·Bᵀ, with
 * m the dropout multiplier (1 for p = 0). With p > 0 the reference uses the op's own mask
 * ({@link Dropout#factor}), so the test checks that the backward is the derivative of the
 * forward that ran; the mask's drop rate is checked loosely on its own. Gradients dx, dA, dB,
 * dBias against float64 finite differences, parameter grads as accumulations onto a prior.
 */
class LoraLinearTest {
    private static final int T = 6, IN = 34, OUT = 21, R = 4;
    private static final float SCALE = 2.5f;

    private static double[] reference(double[][] v, double[] w, double[] mask) {
        double[] x = v[0], a = v[1], b = v[2], bias = v[3];
        double[] y = LinearTest.reference(x, w, bias, T, IN, OUT);
        for (int t = 0; t < T; t++) {
            double[] u = new double[R];
            for (int r = 0; r < R; r++) for (int i = 0; i < IN; i++) u[r] += mask[t * IN + i] * x[t * IN + i] * a[r * IN + i];
            for (int n = 0; n < OUT; n++) for (int r = 0; r < R; r++) y[t * OUT + n] += SCALE * u[r] * b[n * R + r];
        }
        return y;
    }

    private static void check(Dropout dropout, DType wType) {
        Oracle o = new Oracle();
        double[] x = o.uniform(T * IN, 1), w = o.uniform(OUT * IN, 1), a = o.uniform(R * IN, 1), b = o.uniform(OUT * R, 1);
        double[] bias = o.uniform(OUT, 1), dy = o.uniform(T * OUT, 1);
        double[] priorA = o.uniform(R * IN, 1), priorB = o.uniform(OUT * R, 1), priorBias = o.uniform(OUT, 1);
        double[] wSeen = wType == DType.BF16 ? Oracle.roundToBf16(w) : w;
        double[] mask = new double[T * IN];
        for (int i = 0; i < mask.length; i++) mask[i] = dropout.factor(i);
        var weight = new DenseWeight(o.tensor(wType, w, OUT, IN));
        var cpu = new CpuBackend();
        Tensor xt = o.f32(x, T, IN), at = o.f32(a, R, IN), bt = o.f32(b, OUT, R);
        Tensor out = o.poisoned(T, OUT), xa = o.poisoned(T, R);
        cpu.loraLinear(xt, weight, o.f32(bias, OUT), at, bt, SCALE, dropout, out, xa);
        double[][] in = {x, a, b, bias};
        Oracle.Fn f = v -> reference(v, wSeen, mask);
        String tag = " p=" + dropout.p() + " " + wType;
        o.assertClose("lora forward" + tag, f.apply(in), out, FORWARD_TOL);

        Tensor dx = o.poisoned(T, IN), dA = o.f32(priorA, R, IN), dB = o.f32(priorB, OUT, R), dBias = o.f32(priorBias, OUT);
        cpu.loraLinearBackward(o.f32(dy, T, OUT), xt, weight, at, bt, SCALE, dropout, xa, dx, dA, dB, dBias);
        o.assertClose("dx" + tag, Oracle.finiteDifference(f, in, 0, dy), dx, GRAD_TOL);
        o.assertClose("dA" + tag, Oracle.finiteDifference(f, in, 1, dy), Oracle.minus(Oracle.values(dA), priorA), GRAD_TOL);
        o.assertClose("dB" + tag, Oracle.finiteDifference(f, in, 2, dy), Oracle.minus(Oracle.values(dB), priorB), GRAD_TOL);
        o.assertClose("dBias" + tag, Oracle.finiteDifference(f, in, 3, dy), Oracle.minus(Oracle.values(dBias), priorBias), GRAD_TOL);
    }

    @Test
    void withoutDropoutMatchesUnfusedFloat64() {
        check(Dropout.NONE, DType.F32);
        check(Dropout.NONE, DType.BF16);
    }

    @Test
    void withDropoutBackwardIsConsistentWithForwardMask() {
        Oracle o = new Oracle();
        check(new Dropout(0.3f, o.seed), DType.F32);
    }

    @Test
    void dropoutMaskDropsAboutPAndScalesKeptByInverse() {
        Oracle o = new Oracle();
        Dropout d = new Dropout(0.25f, o.seed);
        int n = 20000, dropped = 0;
        for (int i = 0; i < n; i++) {
            float f = d.factor(i);
            if (f == 0f) dropped++;
            else assertTrue(f == 1f / 0.75f, "kept factor " + f + " at " + i + " (seed " + o.seed + ")");
        }
        // binomial(20000, 0.25): sd ≈ 61, so ±5 sd
        assertTrue(Math.abs(dropped - 5000) < 310, dropped + " of " + n + " dropped, expected about 5000 (seed " + o.seed + ")");
    }
}
