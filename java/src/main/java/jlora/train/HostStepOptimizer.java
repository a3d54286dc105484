package jlora.train;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import jlora.backend.cuda.CudaBackend;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/**
 * A host optimizer (the 8-bit and paged AdamW variants, which have no device path in the CUDA
 * trainer yet) driving device-trained parameters: before the norm, the device gradients are
 * copied into host buffers; the host optimizer updates the host masters; the masters go back to
 * the device. The LoRA tensors are small (tens of MB for a 14B model at r 16), so the two copies
 * cost milliseconds per step, and the numbers are the CPU optimizer's exactly.
 */
final class HostStepOptimizer implements Optimizer {
    private final CudaBackend backend;
    private final List<Param> deviceParams;
    private final List<Param> hostParams;
    private final Optimizer inner;
    private final Arena arena = Arena.ofShared();

    HostStepOptimizer(CudaBackend backend, OptimizerName name, List<Param> params, AdamHyperparameters hp) {
        this.backend = backend;
        this.deviceParams = List.copyOf(params);
        List<Param> host = new ArrayList<>();
        for (Param p : params) {
            host.add(new Param(p.name(), p.value(), Tensor.allocate(DType.F32, p.value().shape(), arena), p.decay(), p.lrScale()));
        }
        this.hostParams = List.copyOf(host);
        this.inner = name.create(hostParams, hp);
    }

    /** Copies the device gradients into the host optimizer's gradient buffers. */
    void pullGradients() {
        for (int i = 0; i < deviceParams.size(); i++) backend.copy(deviceParams.get(i).grad(), hostParams.get(i).grad());
    }

    List<Param> hostParams() {
        return hostParams;
    }

    @Override
    public List<Param> params() {
        return deviceParams;
    }

    @Override
    public void step(double lr) {
        inner.step(lr);
        backend.pushParameters();
    }

    @Override
    public long stepCount() {
        return inner.stepCount();
    }

    @Override
    public void zeroGrad() {
        for (Param p : deviceParams) backend.zero(p.grad());
    }

    @Override
    public OptimizerState saveState() {
        return inner.saveState();
    }

    @Override
    public void loadState(OptimizerState state) {
        inner.loadState(state);
    }

    @Override
    public void close() {
        inner.close();
        arena.close();
    }
}
