package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import jlora.tensor.DType;

/**
 * Embedding gather / scatter-add on the device (cuda/embedding.cu): an F32 or BF16 table
 * {@code [vocab, dim]} gathered into rows of the same type by i32 ids; the backward adds dOut
 * (F32 or BF16) into an F32 dTable, matching {@code CpuElementwise#embedding(Backward)} bit for bit.
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
                ADDRESS, JAVA_INT, ADDRESS);
        backward = api.bindStatus("jl_embedding_backward", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS,
                JAVA_INT, ADDRESS);
        bad = new DeviceBuffer(api, 8);
    }

    public void forward(DType type, DeviceBuffer table, long vocab, long dim, DeviceBuffer ids, long tokens,
            DeviceBuffer out) {
        int dt = ActivationType.code(type);
        MemorySegment t = table.at(0, ActivationType.bytes(type, Math.multiplyExact(vocab, dim))), i = ids.at(0, 4 * tokens);
        MemorySegment o = out.at(0, ActivationType.bytes(type, Math.multiplyExact(tokens, dim))), b = bad.at(0, 8);
        api.run("jl_embedding_forward",
                () -> (int) forward.invokeExact(t, i, tokens, vocab, dim, o, b, dt, MemorySegment.NULL));
    }

    /** dTable[ids[t]] += dOut[t], in token order. */
    public void backward(DType dOutType, DeviceBuffer ids, long tokens, DeviceBuffer dOut, long vocab, long dim,
            DeviceBuffer dTable) {
        int dt = ActivationType.code(dOutType);
        MemorySegment i = ids.at(0, 4 * tokens), g = dOut.at(0, ActivationType.bytes(dOutType, Math.multiplyExact(tokens, dim)));
        MemorySegment t = dTable.at(0, 4 * Math.multiplyExact(vocab, dim));
        api.run("jl_embedding_backward", () -> (int) backward.invokeExact(i, g, tokens, vocab, dim, t, dt, MemorySegment.NULL));
    }

    @Override
    public void close() {
        bad.close();
    }
}
