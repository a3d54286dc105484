package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * fp32 causal GQA attention over packed documents (cuda/attention_plain.cu) for head sizes the
 * flash kernels do not take (any up to 256); the math of {@code jlora.backend.cpu.CpuAttention}.
 * Documents come as per-token i32 {@code docStart} / {@code docEnd} (first token, one past the
 * last). Addresses only: the CUDA backend checks shapes.
 */
final class PlainAttentionKernels {
    static final int MAX_HEAD_DIM = 256;

    private final CudaApi api;
    private final MethodHandle forward, backward;

    PlainAttentionKernels(CudaApi api) {
        this.api = api;
        forward = api.bindStatus("jl_attention_plain_forward", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        backward = api.bindStatus("jl_attention_plain_backward", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    }

    private static MemorySegment p(long a) {
        return MemorySegment.ofAddress(a);
    }

    void forward(long q, long k, long v, long docStart, long tokens, int hq, int hkv, int d, long out, long lse) {
        api.run("jl_attention_plain_forward", () -> (int) forward.invokeExact(p(q), p(k), p(v), p(docStart), tokens, hq,
                hkv, d, p(out), p(lse), MemorySegment.NULL));
    }

    void backward(long dOut, long q, long k, long v, long out, long lse, long docStart, long docEnd, long tokens, int hq,
                  int hkv, int d, long dq, long dk, long dv) {
        api.run("jl_attention_plain_backward", () -> (int) backward.invokeExact(p(dOut), p(q), p(k), p(v), p(out), p(lse),
                p(docStart), p(docEnd), tokens, hq, hkv, d, p(dq), p(dk), p(dv), MemorySegment.NULL));
    }
}
