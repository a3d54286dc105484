package jlora.backend;

import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * A scope of tensors in one backend's memory (host memory for the CPU, device memory for
 * CUDA), all freed together by {@link #close()}: a tape owns one for the activations and
 * activation gradients of a pass. Who allocates frees (STYLE.md, explicit memory).
 */
public interface Workspace extends AutoCloseable {
    /** Zero-filled storage that lives until {@link #close()}. */
    Tensor allocate(DType dtype, Shape shape);

    @Override
    void close();
}
