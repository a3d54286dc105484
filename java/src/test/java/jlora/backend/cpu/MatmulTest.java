package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;

import jlora.backend.DenseWeight;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The three matmul kernels against a triple loop in float64 on the same (fp32- or bf16-
 * rounded) inputs; relative error ≤ 1e-5 of the largest reference element. Sizes are odd so
 * the 4×4 micro-kernel, its row/column tails, the vector tail in K and more than one
 * 32-row weight tile are all exercised.
 */
class MatmulTest {
    private static final int M = 13, N = 70;
    /** 37: one vector + tail; 150: the 4-vector blocks, one single vector and a tail. */
    private static final int[] KS = {37, 150};

    @Test
    void ntMatchesFloat64ForF32AndBf16Weights() {
        for (int K : KS) for (DType wType : new DType[] {DType.F32, DType.BF16}) {
            Oracle o = new Oracle();
            double[] x = o.uniform(M * K, 1), w = o.uniform(N * K, 1);
            double[] wSeen = wType == DType.BF16 ? Oracle.roundToBf16(w) : w;
            Tensor y = o.poisoned(M, N - 3);
            // rows 2..N-2 of W, into y: exercises the row offset
            CpuMatmul.nt(o.f32(x, M, K).data(), M, K, new DenseWeight(o.tensor(wType, w, N, K)), 2, N - 3, y.data(), N - 3, 0.5f, false);
            double[] ref = new double[M * (N - 3)];
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N - 3; n++) {
                    double s = 0;
                    for (int k = 0; k < K; k++) s += x[m * K + k] * wSeen[(n + 2) * K + k];
                    ref[m * (N - 3) + n] = 0.5 * s;
                }
            }
            o.assertClose("nt " + wType + " K=" + K, ref, y, FORWARD_TOL);
        }
    }

    @Test
    void nnMatchesFloat64AndAccumulates() {
        for (int K : KS) nn(K);
    }

    private static void nn(int K) {
        Oracle o = new Oracle();
        double[] dy = o.uniform(M * N, 1), w = o.uniform(N * K, 1), prior = o.uniform(M * K, 1);
        Tensor dx = o.f32(prior, M, K);
        CpuMatmul.nn(o.f32(dy, M, N).data(), N, M, new DenseWeight(o.f32(w, N, K)), 0, N, dx.data(), 2f, true);
        double[] ref = prior.clone();
        for (int m = 0; m < M; m++) {
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int n = 0; n < N; n++) s += dy[m * N + n] * w[n * K + k];
                ref[m * K + k] += 2 * s;
            }
        }
        o.assertClose("nn accumulate K=" + K, ref, dx, FORWARD_TOL);

        Tensor fresh = o.poisoned(M, K);
        CpuMatmul.nn(o.f32(dy, M, N).data(), N, M, new DenseWeight(o.f32(w, N, K)), 0, N, fresh.data(), 2f, false);
        o.assertClose("nn overwrite K=" + K, Oracle.minus(ref, prior), fresh, FORWARD_TOL);
    }

    @Test
    void tnMatchesFloat64AndAccumulates() {
        for (int K : KS) tn(K);
    }

    private static void tn(int K) {
        Oracle o = new Oracle();
        double[] a = o.uniform(M * N, 1), b = o.uniform(M * K, 1), prior = o.uniform(N * K, 1);
        Tensor c = o.f32(prior, N, K);
        CpuMatmul.tn(o.f32(a, M, N).data(), N, M, N, o.f32(b, M, K).data(), K, c.data(), 0.25f);
        double[] ref = prior.clone();
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int m = 0; m < M; m++) s += a[m * N + n] * b[m * K + k];
                ref[n * K + k] += 0.25 * s;
            }
        }
        o.assertClose("tn K=" + K, ref, c, FORWARD_TOL);
    }
}
