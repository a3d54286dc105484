package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Embedding gather / scatter-add on the device (cuda/embedding.cu) over an f32 table
 * {@code [vocab, dim]} and i32 ids, matching {@code CpuElementwise#embedding(Backward)} bit for bit.
 * The forward waits for the device to check the ids: one outside the vocabulary is a
 * {@link CudaException} (status -2) naming the first such position and its id. Owns 8 bytes
 * of device scratch for that check: close it.
 */
public final class EmbeddingKernels implements AutoCloseable {
    private final CudaApi api;
    private final MethodHandle forward, backward;
    private final DeviceBuffer bad;

    public EmbeddingKernels(CudaApi api) {
        this.api = api;
        forward = api.bindStatus("jl_embedding_forward", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS,
                ADDRESS, ADDRESS);
        backward = api.bindStatus("jl_embedding_backward", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS,
                ADDRESS);
        bad = new DeviceBuffer(api, 8);
    }

    public void forward(DeviceBuffer table, long vocab, long dim, DeviceBuffer ids, long tokens, DeviceBuffer out) {
        MemorySegment t = table.at(0, 4 * Math.multiplyExact(vocab, dim)), i = ids.at(0, 4 * tokens);
        MemorySegment o = out.at(0, 4 * Math.multiplyExact(tokens, dim)), b = bad.at(0, 8);
        api.run("jl_embedding_forward", () -> (int) forward.invokeExact(t, i, tokens, vocab, dim, o, b, MemorySegment.NULL));
    }

    /** dTable[ids[t]] += dOut[t], in token order. */
    public void backward(DeviceBuffer ids, long tokens, DeviceBuffer dOut, long vocab, long dim, DeviceBuffer dTable) {
        MemorySegment i = ids.at(0, 4 * tokens), g = dOut.at(0, 4 * Math.multiplyExact(tokens, dim));
        MemorySegment t = dTable.at(0, 4 * Math.multiplyExact(vocab, dim));
        api.run("jl_embedding_backward", () -> (int) backward.invokeExact(i, g, tokens, vocab, dim, t, MemorySegment.NULL));
    }

    @Override
    public void close() {
        bad.close();
    }
}
