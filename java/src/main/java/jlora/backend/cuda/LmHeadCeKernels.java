package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import jlora.backend.Backend;
import jlora.backend.LossSum;
import jlora.tensor.DType;

/**
 * The LM head fused with cross-entropy on the GPU, in vocabulary chunks (never the full
 * {@code [T, V]} logits), matching {@code CpuBackend#crossEntropy} / {@code #crossEntropyBackward}
 * (jlora.backend.cpu.CpuCrossEntropy) within bf16 bounds.
 *
 * <p>Only counted rows (target ≠ {@link Backend#IGNORE_INDEX}) are computed: their indices come
 * from the host targets (the batch is built on the host), hidden rows are gathered into a dense
 * bf16 block (skipped when hidden is BF16 and every row counts). Forward, per chunk of {@code C}
 * vocabulary rows of the head: logits {@code [n, C]} f32 = hidden · W_cᵀ (cuBLASLt, fp32
 * accumulate), then cuda/lm_head_ce.cu folds them into each row's online logsumexp and target
 * logit. Backward, per chunk: the same logits again, G = (softmax − onehot) · lossScale in bf16,
 * dHidden_c += G·W_c (fp32 scratch, first chunk overwrites) and dLmHead[c] += Gᵀ·hidden (fp32).
 * Device memory beyond the inputs: n·C·4 bytes of logits (+ n·C·2 of G backward), n·D·2 (+ n·D·4
 * backward) and 12·n; with the default chunk, T = 4096 and D = 3584 about 290 MiB backward.
 * {@link #forwardBackward} trades memory for one GEMM pass less when lossScale is known upfront.
 */
public final class LmHeadCeKernels {
    /** 8192 vocabulary rows per chunk: GEMMs of N = 8192 run at the GEMM's full rate on an H100. */
    public static final int DEFAULT_CHUNK = 8192;

    private final CudaApi api;
    private final Gemm gemm;
    private final DevicePool pool;
    private final MethodHandle gather, chunkForward, finalizeRows, chunkBackward, scatter, rowsForwardBackward;

    public LmHeadCeKernels(CudaApi api, Gemm gemm, DevicePool pool) {
        this.api = api;
        this.gemm = gemm;
        this.pool = pool;
        gather = api.bindStatus("jl_lmce_gather_rows", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
        chunkForward = api.bindStatus("jl_lmce_chunk_forward", ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                ADDRESS, ADDRESS);
        finalizeRows = api.bindStatus("jl_lmce_finalize", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
        chunkBackward = api.bindStatus("jl_lmce_chunk_backward", ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS);
        scatter = api.bindStatus("jl_lmce_scatter_rows", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT,
                ADDRESS);
        rowsForwardBackward = api.bindStatus("jl_lmce_rows_forward_backward", ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG,
                JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
    }

    /** 512 counted rows per block of the fused path: 512 · V · 6 bytes of scratch (446 MiB at V = 152064). */
    public static final int DEFAULT_ROW_BLOCK = 512;

    /**
     * Forward and backward in one call, when lossScale is known before the forward (the trainer
     * knows the accumulated batch's token count): blocks of {@code rowBlock} counted rows take the
     * whole vocabulary at once, logits {@code [rb, V]} = hidden_b · Wᵀ, one kernel turns each row
     * into lse, loss and G = (softmax − onehot) · lossScale (bf16), then dHidden_b = G·W and
     * dLmHead += Gᵀ·hidden_b. Two GEMM passes over the head instead of the chunked path's three
     * (forward, then recompute in the backward); memory rb·V·6 bytes instead of n·C·6. Same
     * outputs as {@link #forward} followed by {@link #backward}.
     */
    public LossSum forwardBackward(CudaStream s, DeviceMatrix hidden, DeviceMatrix lmHead, int[] targets, float lossScale, int rowBlock,
            DeviceBuffer lse, DeviceMatrix dHidden, boolean accumulate, DeviceBuffer dLmHead) {
        int T = hidden.rows(), D = hidden.cols(), V = lmHead.rows();
        check(hidden, lmHead, targets, rowBlock);
        if (dHidden.rows() != T || dHidden.cols() != D) throw new IllegalArgumentException("dHidden is " + dHidden.rows() + "×" + dHidden.cols());
        MemorySegment lseP = lse.at(0, 4L * T);
        if (!accumulate) zeroRows(s, dHidden);
        try (Counted c = count(s, targets, V); DeviceBuffer loss = pool.allocate(4L * T, s)) {
            lse.fillAsync(0, 0, 4L * T, s);
            loss.fillAsync(0, 0, 4L * T, s);
            if (c.n > 0) {
                int rb = Math.min(rowBlock, c.n);
                try (Rows h = gatherRows(s, hidden, c); DeviceBuffer logits = pool.allocate(4L * rb * V, s);
                        DeviceBuffer g = pool.allocate(2L * rb * V, s); DeviceBuffer dh = pool.allocate(4L * rb * D, s)) {
                    MemorySegment lossP = loss.at(0, 4L * T), st = s.handle();
                    for (int b0 = 0; b0 < c.n; b0 += rb) {
                        int n = Math.min(rb, c.n - b0);
                        DeviceMatrix hb = h.matrix().rows(b0, n);
                        DeviceMatrix lg = DeviceMatrix.of(logits, DType.F32, n, V), gm = DeviceMatrix.of(g, DType.BF16, n, V);
                        gemm.gemm(s, hb, false, lmHead, true, lg, 1f, 0f);
                        MemorySegment lp = lg.pointer(), gp = gm.pointer(), ys = c.targets.at(4L * b0, 4L * n), rows = c.rows.at(4L * b0, 4L * n);
                        long nl = n, vl = V;
                        api.run("jl_lmce_rows_forward_backward", () -> (int) rowsForwardBackward.invokeExact(lp, vl, ys, rows, nl, vl,
                                lossScale, gp, vl, lseP, lossP, st));
                        DeviceMatrix dhM = DeviceMatrix.of(dh, DType.F32, n, D);
                        gemm.gemm(s, gm, false, lmHead, false, dhM, 1f, 0f);
                        if (dLmHead != null) gemm.gemm(s, gm, true, hb, false, DeviceMatrix.of(dLmHead, DType.F32, V, D), 1f, 1f);
                        MemorySegment src = dh.at(0, 4L * n * D), dst = dHidden.pointer();
                        int dt = ActivationType.code(dHidden.type());
                        long dld = dHidden.ld(), cols = D;
                        int acc = accumulate ? 1 : 0;
                        api.run("jl_lmce_scatter_rows", () -> (int) scatter.invokeExact(src, nl, cols, rows, dst, dt, dld, acc, st));
                    }
                }
            }
            return sumLoss(s, loss, T, c.n);
        }
    }

    private static LossSum sumLoss(CudaStream s, DeviceBuffer loss, int T, int counted) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(JAVA_FLOAT, Math.max(T, 1));
            if (T > 0) loss.copyToAsync(host.asSlice(0, 4L * T), s);
            s.synchronize();
            double sum = 0;
            for (int t = 0; t < T; t++) sum += host.getAtIndex(JAVA_FLOAT, t);
            return new LossSum(sum, counted);
        }
    }

    /** The counted rows of a call on the device: token indices and their targets (i32, n each). */
    private record Counted(int n, DeviceBuffer rows, DeviceBuffer targets) implements AutoCloseable {
        @Override
        public void close() {
            rows.close();
            targets.close();
        }
    }

    private Counted count(CudaStream s, int[] targets, int vocab) {
        int n = 0;
        for (int t = 0; t < targets.length; t++) {
            int y = targets[t];
            if (y == Backend.IGNORE_INDEX) continue;
            if (y < 0 || y >= vocab) {
                throw new IllegalArgumentException("target " + y + " at row " + t + " is outside [0, " + vocab + ") and not the ignore index -100");
            }
            n++;
        }
        DeviceBuffer rows = pool.allocate(4L * Math.max(n, 1), s), ys = pool.allocate(4L * Math.max(n, 1), s);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hr = arena.allocate(JAVA_INT, Math.max(n, 1)), hy = arena.allocate(JAVA_INT, Math.max(n, 1));
            for (int t = 0, c = 0; t < targets.length; t++) {
                if (targets[t] == Backend.IGNORE_INDEX) continue;
                hr.setAtIndex(JAVA_INT, c, t);
                hy.setAtIndex(JAVA_INT, c, targets[t]);
                c++;
            }
            // Pageable host memory: the copy is staged before the call returns, so the arena may close.
            rows.copyFromAsync(hr, s);
            ys.copyFromAsync(hy, s);
        }
        return new Counted(n, rows, ys);
    }

    /** hidden's counted rows as dense bf16 [n, D], or hidden itself when it already is that. */
    private record Rows(DeviceMatrix matrix, DeviceBuffer owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned != null) owned.close();
        }
    }

    private Rows gatherRows(CudaStream s, DeviceMatrix hidden, Counted c) {
        if (hidden.type() == DType.BF16 && c.n == hidden.rows()) return new Rows(hidden, null);
        int D = hidden.cols();
        DeviceBuffer b = pool.allocate(2L * c.n * D, s);
        MemorySegment src = hidden.pointer(), rows = c.rows.at(0, 4L * c.n), dst = b.at(0, 2L * c.n * D), st = s.handle();
        int dt = ActivationType.code(hidden.type());
        long ld = hidden.ld(), n = c.n, cols = D;
        api.run("jl_lmce_gather_rows", () -> (int) gather.invokeExact(src, dt, ld, rows, n, cols, dst, st));
        return new Rows(DeviceMatrix.of(b, DType.BF16, c.n, D), b);
    }

    /**
     * Σ over counted tokens of −log softmax(hidden·lmHeadᵀ)[target], and their count. hidden
     * {@code [T, D]} F32 or BF16, lmHead {@code [V, D]} BF16, targets {@code [T]} on the host, lse
     * F32 {@code [T]} written (0 for ignored tokens), as the backward needs it. Synchronizes
     * {@code s} to read the per-token losses back (T floats), summed in double.
     */
    public LossSum forward(CudaStream s, DeviceMatrix hidden, DeviceMatrix lmHead, int[] targets, int vocabChunk, DeviceBuffer lse) {
        int T = hidden.rows(), D = hidden.cols(), V = lmHead.rows();
        check(hidden, lmHead, targets, vocabChunk);
        int chunk = Math.min(vocabChunk, V);
        MemorySegment lseP = lse.at(0, 4L * T);
        try (Counted c = count(s, targets, V); DeviceBuffer loss = pool.allocate(4L * T, s)) {
            lse.fillAsync(0, 0, 4L * T, s);
            loss.fillAsync(0, 0, 4L * T, s);
            if (c.n > 0) {
                try (Rows h = gatherRows(s, hidden, c); DeviceBuffer logits = pool.allocate(4L * c.n * chunk, s);
                        DeviceBuffer state = pool.allocate(12L * c.n, s)) {
                    MemorySegment ys = c.targets.at(0, 4L * c.n), st = state.at(0, 12L * c.n), stream = s.handle();
                    long n = c.n;
                    for (int v0 = 0; v0 < V; v0 += chunk) {
                        int cols = Math.min(chunk, V - v0);
                        DeviceMatrix lg = new DeviceMatrix(logits, 0, DType.F32, c.n, cols, chunk);
                        gemm.gemm(s, h.matrix(), false, lmHead.rows(v0, cols), true, lg, 1f, 0f);
                        MemorySegment lp = lg.pointer();
                        long ld = chunk, colsL = cols, v0L = v0;
                        int first = v0 == 0 ? 1 : 0;
                        api.run("jl_lmce_chunk_forward", () -> (int) chunkForward.invokeExact(lp, ld, ys, n, colsL, v0L, first, st, stream));
                    }
                    MemorySegment rows = c.rows.at(0, 4L * c.n), lossP = loss.at(0, 4L * T);
                    api.run("jl_lmce_finalize", () -> (int) finalizeRows.invokeExact(st, rows, n, lseP, lossP, stream));
                }
            }
            return sumLoss(s, loss, T, c.n);
        }
    }

    /**
     * For Σ_counted lossScale · loss_t: dHidden ({@code [T, D]} F32 or BF16) overwritten (ignored
     * rows 0) or, with {@code accumulate}, added to (ignored rows untouched); dLmHead ({@code [V, D]}
     * F32, nullable = frozen) accumulated. lse as the forward wrote it.
     */
    public void backward(CudaStream s, DeviceMatrix hidden, DeviceMatrix lmHead, int[] targets, DeviceBuffer lse, float lossScale,
            int vocabChunk, DeviceMatrix dHidden, boolean accumulate, DeviceBuffer dLmHead) {
        int T = hidden.rows(), D = hidden.cols(), V = lmHead.rows();
        check(hidden, lmHead, targets, vocabChunk);
        if (dHidden.rows() != T || dHidden.cols() != D) throw new IllegalArgumentException("dHidden is " + dHidden.rows() + "×" + dHidden.cols());
        int chunk = Math.min(vocabChunk, V);
        if (!accumulate) zeroRows(s, dHidden);
        try (Counted c = count(s, targets, V)) {
            if (c.n == 0) return;
            try (Rows h = gatherRows(s, hidden, c); DeviceBuffer logits = pool.allocate(4L * c.n * chunk, s);
                    DeviceBuffer g = pool.allocate(2L * c.n * chunk, s); DeviceBuffer dh = pool.allocate(4L * c.n * D, s)) {
                DeviceMatrix dhM = DeviceMatrix.of(dh, DType.F32, c.n, D);
                MemorySegment ys = c.targets.at(0, 4L * c.n), rows = c.rows.at(0, 4L * c.n), lseP = lse.at(0, 4L * T), st = s.handle();
                long n = c.n;
                for (int v0 = 0; v0 < V; v0 += chunk) {
                    int cols = Math.min(chunk, V - v0);
                    DeviceMatrix head = lmHead.rows(v0, cols);
                    DeviceMatrix lg = new DeviceMatrix(logits, 0, DType.F32, c.n, cols, chunk);
                    DeviceMatrix gm = new DeviceMatrix(g, 0, DType.BF16, c.n, cols, chunk);
                    gemm.gemm(s, h.matrix(), false, head, true, lg, 1f, 0f);
                    MemorySegment lp = lg.pointer(), gp = gm.pointer();
                    long ld = chunk, colsL = cols, v0L = v0;
                    api.run("jl_lmce_chunk_backward", () -> (int) chunkBackward.invokeExact(lp, ld, ys, rows, lseP, n, colsL, v0L, lossScale,
                            gp, ld, st));
                    gemm.gemm(s, gm, false, head, false, dhM, 1f, v0 == 0 ? 0f : 1f);
                    if (dLmHead != null) {
                        DeviceMatrix dW = new DeviceMatrix(dLmHead, (long) v0 * D, DType.F32, cols, D, D);
                        gemm.gemm(s, gm, true, h.matrix(), false, dW, 1f, 1f);
                    }
                }
                MemorySegment src = dh.at(0, 4L * c.n * D), dst = dHidden.pointer();
                int dt = ActivationType.code(dHidden.type());
                long dld = dHidden.ld(), cols = D;
                // Overwrite mode already zeroed every row; counted rows are then written, not added.
                int acc = accumulate ? 1 : 0;
                api.run("jl_lmce_scatter_rows", () -> (int) scatter.invokeExact(src, n, cols, rows, dst, dt, dld, acc, st));
            }
        }
    }

    private void zeroRows(CudaStream s, DeviceMatrix m) {
        if (m.rows() == 0) return;
        long bytesPerRow = m.bytes(m.cols()), pitch = m.bytes(m.ld());
        if (pitch == bytesPerRow) {
            m.buffer().fillAsync(0, m.bytes(m.offset()), bytesPerRow * m.rows(), s);
        } else {
            for (int r = 0; r < m.rows(); r++) m.buffer().fillAsync(0, m.bytes(m.offset() + (long) r * m.ld()), bytesPerRow, s);
        }
    }

    private static void check(DeviceMatrix hidden, DeviceMatrix lmHead, int[] targets, int vocabChunk) {
        if (vocabChunk <= 0) throw new IllegalArgumentException("the vocabulary chunk / row block must be positive, got " + vocabChunk);
        if (lmHead.type() != DType.BF16) throw new IllegalArgumentException("the LM head must be BF16, got " + lmHead.type());
        if (lmHead.cols() != hidden.cols()) throw new IllegalArgumentException("hidden has " + hidden.cols() + " features, head " + lmHead.cols());
        if (targets.length != hidden.rows()) throw new IllegalArgumentException(targets.length + " targets for " + hidden.rows() + " rows");
    }
}
