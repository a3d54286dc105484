package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;
import static jlora.backend.cpu.Oracle.GRAD_TOL;

import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * RoPE against a float64 rotate-half reference (HF apply_rotary_pos_emb: x·cos + rotate_half(x)·sin,
 * cos = cos(pos·inv_freq)·scaling); the backward against float64 finite differences. Positions
 * are arbitrary (as in packed sequences), the scaling is not 1 (YaRN-like), and one case rotates
 * only part of each head so the pass-through dims are covered.
 */
class RopeTest {
    private static final int T = 7, H = 3;

    private static double[] reference(double[] x, int[] pos, float[] invFreq, double scaling, int dh) {
        int half = invFreq.length;
        double[] y = x.clone();
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < H; h++) {
                int o = (t * H + h) * dh;
                for (int j = 0; j < half; j++) {
                    double angle = pos[t] * (double) invFreq[j];
                    double c = Math.cos(angle) * scaling, s = Math.sin(angle) * scaling;
                    double x1 = x[o + j], x2 = x[o + j + half];
                    y[o + j] = x1 * c - x2 * s;
                    y[o + j + half] = x2 * c + x1 * s;
                }
            }
        }
        return y;
    }

    @Test
    void fullAndPartialRotationMatchFloat64() {
        for (int[] dims : new int[][] {{20, 10}, {12, 4}}) {
            int dh = dims[0], half = dims[1];
            Oracle o = new Oracle();
            float[] invFreq = new float[half];
            // theta^(−2j/R) with theta = 10000, as Llama's default rope
            for (int j = 0; j < half; j++) invFreq[j] = (float) Math.pow(10000, -2.0 * j / (2 * half));
            int[] pos = new int[T];
            for (int t = 0; t < T; t++) pos[t] = o.nextInt(64);
            float scaling = 1.25f;
            double[] x = o.uniform(T * H * dh, 2), dy = o.uniform(T * H * dh, 1);
            var cpu = new CpuBackend();
            Tensor out = o.poisoned(T, H, dh);
            cpu.rope(o.f32(x, T, H, dh), o.i32(pos), invFreq, scaling, out);
            o.assertClose("rope dh=" + dh, reference(x, pos, invFreq, scaling, dh), out, FORWARD_TOL);

            Tensor dx = o.poisoned(T, H, dh);
            cpu.ropeBackward(o.f32(dy, T, H, dh), o.i32(pos), invFreq, scaling, dx);
            double[] fd = Oracle.finiteDifference(in -> reference(in[0], pos, invFreq, scaling, dh), new double[][] {x}, 0, dy);
            o.assertClose("rope backward dh=" + dh, fd, dx, GRAD_TOL);
        }
    }
}
