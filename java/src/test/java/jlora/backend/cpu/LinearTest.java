package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;
import static jlora.backend.cpu.Oracle.GRAD_TOL;

import jlora.backend.DenseWeight;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * x·Wᵀ + b against a float64 loop (f32 and bf16 weights, the bf16 reference on the rounded
 * weights), dx and the accumulated bias gradient against float64 finite differences.
 */
class LinearTest {
    private static final int T = 9, IN = 35, OUT = 22;

    private static double[] reference(double[] x, double[] w, double[] b) {
        return reference(x, w, b, T, IN, OUT);
    }

    /** y = x·Wᵀ + b in float64 for x [T, IN], W [OUT, IN]; b may be null. */
    static double[] reference(double[] x, double[] w, double[] b, int T, int IN, int OUT) {
        double[] y = new double[T * OUT];
        for (int t = 0; t < T; t++) {
            for (int n = 0; n < OUT; n++) {
                double s = b == null ? 0 : b[n];
                for (int i = 0; i < IN; i++) s += x[t * IN + i] * w[n * IN + i];
                y[t * OUT + n] = s;
            }
        }
        return y;
    }

    @Test
    void forwardAndBackwardMatchFloat64() {
        for (DType wType : new DType[] {DType.F32, DType.BF16}) {
            Oracle o = new Oracle();
            double[] x = o.uniform(T * IN, 1), w = o.uniform(OUT * IN, 1), b = o.uniform(OUT, 1);
            double[] dy = o.uniform(T * OUT, 1), prior = o.uniform(OUT, 1);
            double[] wSeen = wType == DType.BF16 ? Oracle.roundToBf16(w) : w;
            var weight = new DenseWeight(o.tensor(wType, w, OUT, IN));
            var cpu = new CpuBackend();
            Tensor out = o.poisoned(T, OUT);
            cpu.linear(o.f32(x, T, IN), weight, o.f32(b, OUT), out);
            o.assertClose("linear " + wType, reference(x, wSeen, b), out, FORWARD_TOL);

            Tensor noBias = o.poisoned(T, OUT);
            cpu.linear(o.f32(x, T, IN), weight, null, noBias);
            o.assertClose("linear without bias " + wType, reference(x, wSeen, null), noBias, FORWARD_TOL);

            Tensor dx = o.poisoned(T, IN), dBias = o.f32(prior, OUT);
            cpu.linearBackward(o.f32(dy, T, OUT), weight, dx, dBias);
            double[][] in = {x, b};
            Oracle.Fn f = v -> reference(v[0], wSeen, v[1]);
            o.assertClose("dx " + wType, Oracle.finiteDifference(f, in, 0, dy), dx, GRAD_TOL);
            o.assertClose("dBias " + wType, Oracle.finiteDifference(f, in, 1, dy), Oracle.minus(Oracle.values(dBias), prior), GRAD_TOL);
        }
    }
}
