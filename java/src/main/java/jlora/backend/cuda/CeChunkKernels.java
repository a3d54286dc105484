package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The per-chunk steps of the chunked cross-entropy (cuda/ce_chunk.cu): the CUDA backend forms a
 * vocabulary chunk's logits with a GEMM, folds them into a running logsumexp per row
 * ({@link #update}), finishes lse and the fp64 loss sum and count ({@link #finish}), and in the
 * backward turns a chunk's logits into (softmax − onehot)·scale in place ({@link #grad}).
 */
final class CeChunkKernels {
    private final CudaApi api;
    private final MethodHandle init, update, finish, grad;

    CeChunkKernels(CudaApi api) {
        this.api = api;
        init = api.bindStatus("jl_ce_init", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        update = api.bindStatus("jl_ce_chunk_update", ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS);
        finish = api.bindStatus("jl_ce_finish", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
        grad = api.bindStatus("jl_ce_chunk_grad", ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS,
                JAVA_FLOAT, ADDRESS);
    }

    private static MemorySegment p(long a) {
        return MemorySegment.ofAddress(a);
    }

    /** m = −∞, s = 0, tgt = 0 for every row. */
    void init(long rows, long m, long s, long tgt) {
        api.run("jl_ce_init", () -> (int) init.invokeExact(rows, p(m), p(s), p(tgt), MemorySegment.NULL));
    }

    void update(long logits, long rows, long cols, long ld, long col0, long targets, long m, long s, long tgt) {
        api.run("jl_ce_chunk_update", () -> (int) update.invokeExact(p(logits), rows, cols, ld, col0, p(targets), p(m),
                p(s), p(tgt), MemorySegment.NULL));
    }

    /** lse per row and {Σ loss, count} as two doubles at {@code sumCount}. */
    void finish(long m, long s, long tgt, long targets, long rows, long lse, long sumCount) {
        api.run("jl_ce_finish", () -> (int) finish.invokeExact(p(m), p(s), p(tgt), p(targets), rows, p(lse), p(sumCount),
                MemorySegment.NULL));
    }

    void grad(long logits, long rows, long cols, long ld, long col0, long targets, long lse, float scale) {
        api.run("jl_ce_chunk_grad", () -> (int) grad.invokeExact(p(logits), rows, cols, ld, col0, p(targets), p(lse), scale,
                MemorySegment.NULL));
    }
}
