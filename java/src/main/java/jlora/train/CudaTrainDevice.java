package jlora.train;

import java.util.List;
import java.util.Map;
import jlora.backend.Backend;
import jlora.backend.cuda.CudaBackend;
import jlora.train.metrics.MetricNames;

/**
 * Training on one CUDA device: the {@link CudaBackend}, AdamW with fp32 state on the device
 * ({@link DeviceAdamW}), the gradient norm and clip coefficient formed on the device (only the
 * norm comes back, as one scalar), and the peak of device memory per logging window. The 8-bit
 * and paged optimizers run on the host ({@link HostStepOptimizer}).
 */
final class CudaTrainDevice implements TrainDevice {
    private final CudaBackend backend;

    private CudaTrainDevice(CudaBackend backend) {
        this.backend = backend;
    }

    static CudaTrainDevice open(int index) {
        return new CudaTrainDevice(CudaBackend.open(index));
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public String name() {
        return backend.deviceName();
    }

    @Override
    public Optimizer optimizer(OptimizerName name, List<Param> params, AdamHyperparameters hp) {
        if (name == OptimizerName.ADAMW_TORCH || name == OptimizerName.ADAMW_TORCH_FUSED) return new DeviceAdamW(backend, params, hp);
        System.err.println("jlora: training.optimizer " + name.hfName + " runs on the host with --device cuda (the LoRA"
                + " gradients and weights cross the bus once per step); adamw_torch runs on the GPU");
        return new HostStepOptimizer(backend, name, params, hp);
    }

    @Override
    public double gradNorm(Optimizer optimizer, List<Param> params, double maxNorm) {
        if (optimizer instanceof HostStepOptimizer h) {
            h.pullGradients();
            return GradClip.norm(h.hostParams());
        }
        return ((DeviceAdamW) optimizer).gradNorm(maxNorm);
    }

    @Override
    public void clip(Optimizer optimizer, List<Param> params, double maxNorm) {
        if (optimizer instanceof HostStepOptimizer h) GradClip.clip(h.hostParams(), maxNorm);
        else ((DeviceAdamW) optimizer).clipNextStep(maxNorm);
    }

    @Override
    public void pullParameters() {
        backend.pullParameters();
    }

    @Override
    public void pushParameters() {
        backend.pushParameters();
    }

    @Override
    public Map<String, Double> memoryMetrics() {
        double peak = backend.peakMemory(), now = backend.memoryInUse();
        backend.resetPeakMemory();
        return Map.of(MetricNames.DEVICE_PEAK_MEMORY, peak, MetricNames.DEVICE_MEMORY, now);
    }

    @Override
    public void close() {
        backend.close();
    }
}
