package jlora.train;

import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.backend.Backend;
import jlora.backend.cuda.CudaBackend;
import jlora.train.metrics.MetricNames;

/**
 * Training on one CUDA device: the {@link CudaBackend}, AdamW with fp32 state on the device
 * ({@link DeviceAdamW}), the gradient norm and clip coefficient formed on the device (only the
 * norm comes back, as one scalar), and the peak of device memory per logging window.
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
        if (name != OptimizerName.ADAMW_TORCH && name != OptimizerName.ADAMW_TORCH_FUSED) {
            throw new UserError("training.optimizer " + name.hfName + " has no CUDA implementation yet (8-bit and paged"
                    + " AdamW run on the CPU only); set training.optimizer: adamw_torch for --device cuda, or train on the CPU");
        }
        return new DeviceAdamW(backend, params, hp);
    }

    @Override
    public double gradNorm(Optimizer optimizer, List<Param> params, double maxNorm) {
        return ((DeviceAdamW) optimizer).gradNorm(maxNorm);
    }

    @Override
    public void clip(Optimizer optimizer, List<Param> params, double maxNorm) {
        ((DeviceAdamW) optimizer).clipNextStep(maxNorm);
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
