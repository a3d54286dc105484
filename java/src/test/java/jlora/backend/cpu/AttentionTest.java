package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;
import static jlora.backend.cpu.Oracle.GRAD_TOL;

import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Causal GQA attention over packed documents, against (1) a float64 reference that forms the
 * full masked score matrix (mask: same document and j ≤ i) and a plain softmax, (2) the same op
 * run on each document alone (packing must not leak across documents), and (3) float64 finite
 * differences of the reference for dq, dk, dv. GQA ratios 1, 2, 4; head dim 20 covers one vector
 * plus a scalar tail.
 */
class AttentionTest {
    private static final int HQ = 4, DH = 20;
    private static final int[] DOC_LENGTHS = {3, 5, 1, 4};
    private static final int T = 13;

    private static int[] segments() {
        int[] seg = new int[T];
        for (int d = 0, t = 0; d < DOC_LENGTHS.length; d++) for (int i = 0; i < DOC_LENGTHS[d]; i++) seg[t++] = 7 * d + 1;
        return seg;
    }

    private static double[] reference(double[] q, double[] k, double[] v, int[] seg, int hkv) {
        int group = HQ / hkv;
        double scale = 1 / Math.sqrt(DH);
        double[] out = new double[T * HQ * DH];
        for (int h = 0; h < HQ; h++) {
            int g = h / group;
            for (int i = 0; i < T; i++) {
                double[] s = new double[T];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < T; j++) {
                    if (j > i || seg[j] != seg[i]) {
                        s[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double d = 0;
                    for (int e = 0; e < DH; e++) d += q[(i * HQ + h) * DH + e] * k[(j * hkv + g) * DH + e];
                    s[j] = d * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < T; j++) sum += Math.exp(s[j] - max);
                for (int j = 0; j < T; j++) {
                    double p = Math.exp(s[j] - max) / sum;
                    for (int e = 0; e < DH; e++) out[(i * HQ + h) * DH + e] += p * v[(j * hkv + g) * DH + e];
                }
            }
        }
        return out;
    }

    @Test
    void packedForwardAndBackwardMatchFloat64ForGqaRatios124() {
        check(CpuAttention.BQ, 4, 2, 1);
    }

    /** Query blocks of 3 rows: documents of 5 and 4 tokens span two blocks, one partial. */
    @Test
    void smallQueryBlocksGiveTheSameMath() {
        check(3, 2);
    }

    private static void check(int bq, int... kvHeads) {
        int[] seg = segments();
        for (int hkv : kvHeads) {
            Oracle o = new Oracle();
            double[] q = o.uniform(T * HQ * DH, 2), k = o.uniform(T * hkv * DH, 2), v = o.uniform(T * hkv * DH, 1);
            double[] dy = o.uniform(T * HQ * DH, 1);
            Tensor qt = o.f32(q, T, HQ, DH), kt = o.f32(k, T, hkv, DH), vt = o.f32(v, T, hkv, DH);
            Tensor out = o.poisoned(T, HQ, DH), lse = o.poisoned(T, HQ);
            CpuAttention.forward(qt, kt, vt, o.i32(seg), out, lse, bq);
            String tag = " (Hq/Hkv = " + HQ / hkv + ", query block " + bq + ")";
            o.assertClose("attention" + tag, reference(q, k, v, seg, hkv), out, FORWARD_TOL);

            Tensor dq = o.poisoned(T, HQ, DH), dk = o.poisoned(T, hkv, DH), dv = o.poisoned(T, hkv, DH);
            CpuAttention.backward(o.f32(dy, T, HQ, DH), qt, kt, vt, o.i32(seg), out, lse, dq, dk, dv, bq);
            double[][] in = {q, k, v};
            Oracle.Fn f = x -> reference(x[0], x[1], x[2], seg, hkv);
            o.assertClose("dq" + tag, Oracle.finiteDifference(f, in, 0, dy), dq, GRAD_TOL);
            o.assertClose("dk" + tag, Oracle.finiteDifference(f, in, 1, dy), dk, GRAD_TOL);
            o.assertClose("dv" + tag, Oracle.finiteDifference(f, in, 2, dy), dv, GRAD_TOL);
        }
    }

    @Test
    void packedEqualsEachDocumentAlone() {
        int hkv = 2;
        // Segments as a packer derives them: position ids restart at 0 in every document.
        int[] positions = new int[T];
        for (int d = 0, t = 0; d < DOC_LENGTHS.length; d++) for (int i = 0; i < DOC_LENGTHS[d]; i++) positions[t++] = i;
        int[] seg = jlora.backend.Backend.segmentIdsFromPositions(positions);
        Oracle o = new Oracle();
        double[] q = o.uniform(T * HQ * DH, 2), k = o.uniform(T * hkv * DH, 2), v = o.uniform(T * hkv * DH, 1);
        var cpu = new CpuBackend();
        Tensor packed = o.poisoned(T, HQ, DH);
        cpu.attention(o.f32(q, T, HQ, DH), o.f32(k, T, hkv, DH), o.f32(v, T, hkv, DH), o.i32(seg), packed, o.poisoned(T, HQ));
        double[] all = Oracle.values(packed);
        for (int d = 0, t0 = 0; d < DOC_LENGTHS.length; t0 += DOC_LENGTHS[d], d++) {
            int n = DOC_LENGTHS[d];
            double[] qd = java.util.Arrays.copyOfRange(q, t0 * HQ * DH, (t0 + n) * HQ * DH);
            double[] kd = java.util.Arrays.copyOfRange(k, t0 * hkv * DH, (t0 + n) * hkv * DH);
            double[] vd = java.util.Arrays.copyOfRange(v, t0 * hkv * DH, (t0 + n) * hkv * DH);
            Tensor alone = o.poisoned(n, HQ, DH);
            cpu.attention(o.f32(qd, n, HQ, DH), o.f32(kd, n, hkv, DH), o.f32(vd, n, hkv, DH), o.i32(new int[n]), alone, o.poisoned(n, HQ));
            o.assertClose("document " + d + " alone vs packed", Oracle.values(alone),
                    java.util.Arrays.copyOfRange(all, t0 * HQ * DH, (t0 + n) * HQ * DH), 1e-6);
        }
    }
}
