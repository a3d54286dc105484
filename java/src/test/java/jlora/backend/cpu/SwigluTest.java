package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;
import static jlora.backend.cpu.Oracle.GRAD_TOL;

import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** silu(gate)·up against float64 g/(1+e^−g)·u; both gradients against float64 finite differences. */
class SwigluTest {
    private static double[] reference(double[][] in) {
        double[] g = in[0], u = in[1], y = new double[g.length];
        for (int i = 0; i < g.length; i++) y[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        return y;
    }

    @Test
    void forwardAndBackwardMatchFloat64() {
        Oracle o = new Oracle();
        int T = 5, D = 41;
        double[] g = o.uniform(T * D, 6), u = o.uniform(T * D, 2), dy = o.uniform(T * D, 1);
        var cpu = new CpuBackend();
        Tensor out = o.poisoned(T, D);
        cpu.swiglu(o.f32(g, T, D), o.f32(u, T, D), out);
        double[][] in = {g, u};
        o.assertClose("swiglu", reference(in), out, FORWARD_TOL);

        Tensor dGate = o.poisoned(T, D), dUp = o.poisoned(T, D);
        cpu.swigluBackward(o.f32(dy, T, D), o.f32(g, T, D), o.f32(u, T, D), dGate, dUp);
        o.assertClose("dGate", Oracle.finiteDifference(SwigluTest::reference, in, 0, dy), dGate, GRAD_TOL);
        o.assertClose("dUp", Oracle.finiteDifference(SwigluTest::reference, in, 1, dy), dUp, GRAD_TOL);
    }
}
