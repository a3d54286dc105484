package jlora.backend.cpu;

import static jlora.backend.cpu.Oracle.FORWARD_TOL;
import static jlora.backend.cpu.Oracle.GRAD_TOL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jlora.backend.Backend;
import jlora.backend.DenseWeight;
import jlora.backend.LossSum;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The chunked, fused LM-head cross-entropy against an unchunked float64 reference that forms the
 * full logits and a plain log-softmax, for chunk sizes that divide the vocabulary, do not, are 1,
 * and exceed it. Loss sum within 1e-5 relative, count exact; dHidden and dLmHead (accumulated)
 * against float64 finite differences of lossScale · Σ loss. Rows with target −100 count nothing.
 */
class CrossEntropyTest {
    private static final int T = 7, D = 21, V = 53;
    private static final int[] TARGETS = {5, Backend.IGNORE_INDEX, 52, 0, Backend.IGNORE_INDEX, 17, 5};
    private static final float LOSS_SCALE = 0.37f;

    /** Per-row losses (0 where ignored), float64, full logits. */
    private static double[] reference(double[] h, double[] w) {
        double[] loss = new double[T];
        for (int t = 0; t < T; t++) {
            if (TARGETS[t] == Backend.IGNORE_INDEX) continue;
            double[] logits = new double[V];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                for (int i = 0; i < D; i++) logits[v] += h[t * D + i] * w[v * D + i];
                max = Math.max(max, logits[v]);
            }
            double sum = 0;
            for (double l : logits) sum += Math.exp(l - max);
            loss[t] = max + Math.log(sum) - logits[TARGETS[t]];
        }
        return loss;
    }

    @Test
    void chunkedLossAndGradientsMatchUnchunkedFloat64() {
        for (int chunk : new int[] {V, 16, 7, 1, 100}) {
            Oracle o = new Oracle();
            double[] h = o.uniform(T * D, 1), w = o.uniform(V * D, 1), prior = o.uniform(V * D, 0.1);
            var head = new DenseWeight(o.f32(w, V, D));
            var cpu = new CpuBackend();
            Tensor ht = o.f32(h, T, D), targets = o.i32(TARGETS), lse = o.poisoned(T);
            LossSum got = cpu.crossEntropy(ht, head, targets, chunk, lse);
            double[] perRow = reference(h, w);
            double want = 0;
            for (double l : perRow) want += l;
            String tag = " (chunk " + chunk + ", seed " + o.seed + ")";
            assertEquals(5, got.count(), "counted tokens" + tag);
            assertTrue(Math.abs(got.sum() - want) <= FORWARD_TOL * Math.abs(want), "loss sum " + got.sum() + " vs float64 " + want + tag);

            Tensor dh = o.poisoned(T, D), dw = o.f32(prior, V, D);
            cpu.crossEntropyBackward(ht, head, targets, lse, LOSS_SCALE, chunk, dh, dw);
            double[] dLoss = new double[T];
            java.util.Arrays.fill(dLoss, LOSS_SCALE);
            Oracle.Fn f = in -> reference(in[0], in[1]);
            double[][] in = {h, w};
            o.assertClose("dHidden" + tag, Oracle.finiteDifference(f, in, 0, dLoss), dh, GRAD_TOL);
            o.assertClose("dLmHead" + tag, Oracle.finiteDifference(f, in, 1, dLoss), Oracle.minus(Oracle.values(dw), prior), GRAD_TOL);
        }
    }

    @Test
    void rowBlocksUnderATinyScratchBudgetGiveTheSameResult() {
        Oracle o = new Oracle();
        double[] h = o.uniform(T * D, 1), w = o.uniform(V * D, 1);
        var head = new DenseWeight(o.f32(w, V, D));
        Tensor ht = o.f32(h, T, D), targets = o.i32(TARGETS);
        Tensor lse = o.poisoned(T), lseBlocked = o.poisoned(T);
        LossSum whole = CpuCrossEntropy.forward(ht, head, targets, 16, lse);
        // 2 rows x 16 columns of scratch: three row blocks for the five counted rows
        LossSum blocked = CpuCrossEntropy.forward(ht, head, targets, 16, lseBlocked, 32);
        assertEquals(whole.count(), blocked.count(), "count with row blocks (seed " + o.seed + ")");
        assertTrue(Math.abs(whole.sum() - blocked.sum()) <= 1e-6 * Math.abs(whole.sum()),
                "loss " + blocked.sum() + " with row blocks vs " + whole.sum() + " (seed " + o.seed + ")");
        Tensor dh = o.poisoned(T, D), dhBlocked = o.poisoned(T, D);
        Tensor dw = o.f32(new double[V * D], V, D), dwBlocked = o.f32(new double[V * D], V, D);
        CpuCrossEntropy.backward(ht, head, targets, lse, LOSS_SCALE, 16, dh, dw);
        CpuCrossEntropy.backward(ht, head, targets, lse, LOSS_SCALE, 16, dhBlocked, dwBlocked, 32);
        o.assertClose("dHidden with row blocks", Oracle.values(dh), dhBlocked, 1e-6);
        o.assertClose("dLmHead with row blocks", Oracle.values(dw), dwBlocked, 1e-6);
    }

    @Test
    void bf16HeadAndFrozenHeadGradient() {
        Oracle o = new Oracle();
        double[] h = o.uniform(T * D, 1), w = o.uniform(V * D, 1);
        var head = new DenseWeight(o.tensor(DType.BF16, w, V, D));
        var cpu = new CpuBackend();
        Tensor ht = o.f32(h, T, D), targets = o.i32(TARGETS), lse = o.poisoned(T);
        LossSum got = cpu.crossEntropy(ht, head, targets, 10, lse);
        double want = 0;
        double[] wSeen = Oracle.roundToBf16(w);
        for (double l : reference(h, wSeen)) want += l;
        assertTrue(Math.abs(got.sum() - want) <= FORWARD_TOL * Math.abs(want), "bf16 loss " + got.sum() + " vs " + want + " (seed " + o.seed + ")");
        Tensor dh = o.poisoned(T, D);
        cpu.crossEntropyBackward(ht, head, targets, lse, 1f, 10, dh, null);
        double[] ones = new double[T];
        java.util.Arrays.fill(ones, 1);
        o.assertClose("dHidden, bf16 frozen head", Oracle.finiteDifference(in -> reference(in[0], wSeen), new double[][] {h}, 0, ones), dh, GRAD_TOL);
    }

    @Test
    void allIgnoredGivesZeroLossAndZeroGradient() {
        Oracle o = new Oracle();
        int[] none = new int[T];
        java.util.Arrays.fill(none, Backend.IGNORE_INDEX);
        var head = new DenseWeight(o.f32(o.uniform(V * D, 1), V, D));
        Tensor ht = o.f32(o.uniform(T * D, 1), T, D), lse = o.poisoned(T), dh = o.poisoned(T, D);
        var cpu = new CpuBackend();
        assertEquals(new LossSum(0.0, 0), cpu.crossEntropy(ht, head, o.i32(none), 8, lse));
        cpu.crossEntropyBackward(ht, head, o.i32(none), lse, 1f, 8, dh, null);
        o.assertClose("dHidden with every target ignored", new double[T * D], dh, 0.0);
    }
}
