package jlora.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import jlora.backend.Workspace;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/** Device tensors of one tape, handed back to the backend's {@link DeviceMemory} on close. */
final class DeviceWorkspace implements Workspace {
    private final CudaBackend backend;
    private final List<Long> blocks = new ArrayList<>();
    private boolean closed;

    DeviceWorkspace(CudaBackend backend) {
        this.backend = backend;
    }

    @Override
    public Tensor allocate(DType dtype, Shape shape) {
        if (closed) throw new IllegalStateException("workspace closed");
        Tensor t = backend.allocateZeroed(dtype, shape);
        blocks.add(t.deviceAddress());
        return t;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (long b : blocks) backend.release(b);
        blocks.clear();
    }
}
