package jlora.backend;

import java.lang.foreign.Arena;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/** Host tensors from one shared arena (the CPU kernels run on ForkJoin threads). */
public final class HostWorkspace implements Workspace {
    private final Arena arena = Arena.ofShared();

    @Override
    public Tensor allocate(DType dtype, Shape shape) {
        return Tensor.allocate(dtype, shape, arena);
    }

    @Override
    public void close() {
        arena.close();
    }
}
