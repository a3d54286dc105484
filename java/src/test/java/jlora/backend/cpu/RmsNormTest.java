package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;
import static jlora.backend.cpu.Oracle.GRAD_TOL;

import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * RMSNorm against float64 x·w/sqrt(mean(x²)+eps) (HF LlamaRMSNorm); dx and dWeight against
 * float64 finite differences, dWeight checked as an accumulation onto a non-zero prior.
 */
class RmsNormTest {
    private static final int T = 6, D = 37;
    private static final float EPS = 1e-6f;

    private static double[] reference(double[][] in) {
        double[] x = in[0], w = in[1], y = new double[x.length];
        for (int t = 0; t < T; t++) {
            double ss = 0;
            for (int i = 0; i < D; i++) ss += x[t * D + i] * x[t * D + i];
            double r = 1 / Math.sqrt(ss / D + EPS);
            for (int i = 0; i < D; i++) y[t * D + i] = x[t * D + i] * r * w[i];
        }
        return y;
    }

    @Test
    void forwardAndBackwardMatchFloat64() {
        Oracle o = new Oracle();
        double[] x = o.uniform(T * D, 3), w = o.uniform(D, 2), dy = o.uniform(T * D, 1), prior = o.uniform(D, 1);
        var cpu = new CpuBackend();
        Tensor out = o.poisoned(T, D), rstd = o.poisoned(T);
        cpu.rmsNorm(o.f32(x, T, D), o.f32(w, D), EPS, out, rstd);
        double[][] in = {x, w};
        o.assertClose("rmsNorm", reference(in), out, FORWARD_TOL);

        Tensor dx = o.poisoned(T, D), dw = o.f32(prior, D);
        cpu.rmsNormBackward(o.f32(dy, T, D), o.f32(x, T, D), o.f32(w, D), rstd, dx, dw);
        o.assertClose("dx", Oracle.finiteDifference(RmsNormTest::reference, in, 0, dy), dx, GRAD_TOL);
        o.assertClose("dWeight (accumulated)", Oracle.finiteDifference(RmsNormTest::reference, in, 1, dy),
                Oracle.minus(Oracle.values(dw), prior), GRAD_TOL);
    }

    @Test
    void bf16WeightIsReadAsItsRoundedValues() {
        Oracle o = new Oracle();
        double[] x = o.uniform(T * D, 3), w = o.uniform(D, 2);
        Tensor out = o.poisoned(T, D);
        new CpuBackend().rmsNorm(o.f32(x, T, D), o.tensor(DType.BF16, w, D), EPS, out, o.poisoned(T));
        o.assertClose("rmsNorm bf16 weight", reference(new double[][] {x, Oracle.roundToBf16(w)}), out, FORWARD_TOL);
    }
}
