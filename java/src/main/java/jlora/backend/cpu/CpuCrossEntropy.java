package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.get;
import static jlora.backend.cpu.Floats.getInt;
import static jlora.backend.cpu.Floats.set;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jlora.backend.Backend;
import jlora.backend.LinearWeight;
import jlora.backend.LossSum;
import jlora.tensor.Tensor;

/**
 * Cross-entropy fused with the LM head (the Unsloth / Liger chunked loss): logits are formed
 * {@code vocabChunk} columns at a time into one {@code [Tc, chunk]} scratch, and each token
 * keeps a running max m and rescaled sum s (online logsumexp: s ← s·e^{m−m'} + Σ e^{l−m'}).
 * Only rows whose target is counted are computed at all: they are gathered first (prompt
 * tokens masked with −100 cost nothing), in row blocks that keep the scratch under
 * {@link #SCRATCH_FLOATS}. Backward recomputes each chunk's logits and turns
 * them into G = (softmax − onehot) · lossScale, then dh += G·W_c and dW_c += Gᵀ·h.
 */
final class CpuCrossEntropy {
    private CpuCrossEntropy() {}

    /** The counted rows of one call, gathered into a dense [Tc, D] block. */
    private record Counted(int[] rows, int[] targets, MemorySegment hidden) {}

    private static Counted gather(Tensor hidden, LinearWeight lmHead, Tensor targets, Arena arena) {
        Floats.requireF32("hidden", hidden);
        Floats.requireI32("targets", targets);
        int T = Floats.rows(hidden), D = lmHead.inFeatures(), V = lmHead.outFeatures();
        Floats.requireShape("hidden", hidden, T, D);
        Floats.requireShape("targets", targets, T);
        int n = 0;
        for (int t = 0; t < T; t++) {
            int y = getInt(targets.data(), t);
            if (y == Backend.IGNORE_INDEX) continue;
            if (y < 0 || y >= V) throw new IllegalArgumentException("target " + y + " at row " + t + " is outside [0, " + V + ") and not the ignore index -100");
            n++;
        }
        int[] rows = new int[n], ys = new int[n];
        MemorySegment dense = arena.allocate(Math.max(4L, (long) n * D * 4), 64);
        for (int t = 0, c = 0; t < T; t++) {
            int y = getInt(targets.data(), t);
            if (y == Backend.IGNORE_INDEX) continue;
            rows[c] = t;
            ys[c] = y;
            MemorySegment.copy(hidden.data(), (long) t * D * 4, dense, (long) c * D * 4, (long) D * 4);
            c++;
        }
        return new Counted(rows, ys, dense);
    }

    /** Logit scratch budget: 16 Mi floats (64 MiB); rows are taken in blocks that fit it. */
    static final long SCRATCH_FLOATS = 1L << 24;

    static LossSum forward(Tensor hidden, LinearWeight lmHead, Tensor targets, int vocabChunk, Tensor lse) {
        return forward(hidden, lmHead, targets, vocabChunk, lse, SCRATCH_FLOATS);
    }

    static LossSum forward(Tensor hidden, LinearWeight lmHead, Tensor targets, int vocabChunk, Tensor lse, long scratchFloats) {
        if (vocabChunk <= 0) throw new IllegalArgumentException("vocabChunk must be positive, got " + vocabChunk);
        Floats.requireF32("lse", lse);
        Floats.requireShape("lse", lse, Floats.rows(hidden));
        int D = lmHead.inFeatures(), V = lmHead.outFeatures(), chunk = Math.min(vocabChunk, V);
        lse.data().fill((byte) 0);
        try (Arena arena = Arena.ofShared()) {
            Counted c = gather(hidden, lmHead, targets, arena);
            int n = c.rows.length;
            if (n == 0) return new LossSum(0.0, 0);
            float[] max = new float[n], sum = new float[n], target = new float[n];
            java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
            int rowBlock = rowBlock(n, chunk, scratchFloats);
            MemorySegment logits = arena.allocate((long) rowBlock * chunk * 4, 64);
            for (int b0 = 0; b0 < n; b0 += rowBlock) {
                int rows = Math.min(rowBlock, n - b0), base = b0;
                MemorySegment h = c.hidden.asSlice((long) b0 * D * 4, (long) rows * D * 4);
                for (int v0 = 0; v0 < V; v0 += chunk) {
                    int cols = Math.min(chunk, V - v0), c0 = v0;
                    CpuMatmul.nt(h, rows, D, lmHead, v0, cols, logits, chunk, 1f, false);
                    Parallel.forRanges(rows, 16, (r0, r1) -> {
                        for (int r = r0; r < r1; r++) {
                            long o = (long) r * chunk;
                            int i = base + r;
                            float m = max[i];
                            for (int j = 0; j < cols; j++) m = Math.max(m, get(logits, o + j));
                            float s = sum[i] * (float) Math.exp(max[i] - m);
                            for (int j = 0; j < cols; j++) s += (float) Math.exp(get(logits, o + j) - m);
                            max[i] = m;
                            sum[i] = s;
                            int y = c.targets[i] - c0;
                            if (y >= 0 && y < cols) target[i] = get(logits, o + y);
                        }
                    });
                }
            }
            double loss = 0.0;
            for (int r = 0; r < n; r++) {
                float l = max[r] + (float) Math.log(sum[r]);
                set(lse.data(), c.rows[r], l);
                loss += (double) l - target[r];
            }
            return new LossSum(loss, n);
        }
    }

    private static int rowBlock(int n, int chunk, long scratchFloats) {
        return (int) Math.max(1, Math.min(n, scratchFloats / chunk));
    }

    static void backward(Tensor hidden, LinearWeight lmHead, Tensor targets, Tensor lse, float lossScale,
                         int vocabChunk, Tensor dHidden, Tensor dLmHead) {
        backward(hidden, lmHead, targets, lse, lossScale, vocabChunk, dHidden, dLmHead, SCRATCH_FLOATS);
    }

    static void backward(Tensor hidden, LinearWeight lmHead, Tensor targets, Tensor lse, float lossScale,
                         int vocabChunk, Tensor dHidden, Tensor dLmHead, long scratchFloats) {
        if (vocabChunk <= 0) throw new IllegalArgumentException("vocabChunk must be positive, got " + vocabChunk);
        Floats.requireF32("dHidden", dHidden);
        Floats.requireShape("dHidden", dHidden, hidden.shape().dims());
        if (dLmHead != null) {
            Floats.requireF32("dLmHead", dLmHead);
            Floats.requireShape("dLmHead", dLmHead, lmHead.outFeatures(), lmHead.inFeatures());
        }
        int D = lmHead.inFeatures(), V = lmHead.outFeatures(), chunk = Math.min(vocabChunk, V);
        dHidden.data().fill((byte) 0);
        try (Arena arena = Arena.ofShared()) {
            Counted c = gather(hidden, lmHead, targets, arena);
            int n = c.rows.length;
            if (n == 0) return;
            float[] l = new float[n];
            for (int r = 0; r < n; r++) l[r] = get(lse.data(), c.rows[r]);
            int rowBlock = rowBlock(n, chunk, scratchFloats);
            MemorySegment g = arena.allocate((long) rowBlock * chunk * 4, 64);
            MemorySegment dh = arena.allocate((long) n * D * 4, 64);
            for (int b0 = 0; b0 < n; b0 += rowBlock) {
                int rows = Math.min(rowBlock, n - b0), base = b0;
                MemorySegment h = c.hidden.asSlice((long) b0 * D * 4, (long) rows * D * 4);
                MemorySegment dhBlock = dh.asSlice((long) b0 * D * 4, (long) rows * D * 4);
                for (int v0 = 0; v0 < V; v0 += chunk) {
                    int cols = Math.min(chunk, V - v0), c0 = v0;
                    CpuMatmul.nt(h, rows, D, lmHead, v0, cols, g, chunk, 1f, false);
                    Parallel.forRanges(rows, 16, (r0, r1) -> {
                        for (int r = r0; r < r1; r++) {
                            long o = (long) r * chunk;
                            int i = base + r;
                            for (int j = 0; j < cols; j++) set(g, o + j, (float) Math.exp(get(g, o + j) - l[i]) * lossScale);
                            int y = c.targets[i] - c0;
                            if (y >= 0 && y < cols) set(g, o + y, get(g, o + y) - lossScale);
                        }
                    });
                    CpuMatmul.nn(g, chunk, rows, lmHead, v0, cols, dhBlock, 1f, v0 > 0);
                    if (dLmHead != null) {
                        MemorySegment headRows = dLmHead.data().asSlice((long) v0 * D * 4, (long) cols * D * 4);
                        CpuMatmul.tn(g, chunk, rows, cols, h, D, headRows, 1f);
                    }
                }
            }
            for (int r = 0; r < n; r++) MemorySegment.copy(dh, (long) r * D * 4, dHidden.data(), (long) c.rows[r] * D * 4, (long) D * 4);
        }
    }
}
