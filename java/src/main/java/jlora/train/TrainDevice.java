package jlora.train;

import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.backend.Backend;
import jlora.backend.cpu.CpuBackend;
import jlora.backend.cuda.CudaDevices;

/**
 * Where a training stage computes: the {@link Backend}, and the per-step pieces that differ by
 * device — the optimizer, the global gradient norm and clipping, moving the LoRA masters between
 * the host (adapter files) and the device, and device memory. The trainer's loop is the same on
 * every device.
 */
public interface TrainDevice extends AutoCloseable {
    Backend backend();

    /** "cpu" or "cuda:0". */
    String name();

    /** An optimizer over {@code params} (host masters, gradients from the backend). */
    Optimizer optimizer(OptimizerName name, List<Param> params, AdamHyperparameters hp);

    /**
     * The global L2 norm of all gradients. With {@code maxNorm > 0} the device may prepare the
     * clip coefficient at the same time; {@link #clip} then applies it.
     */
    double gradNorm(Optimizer optimizer, List<Param> params, double maxNorm);

    /** Clips to {@code maxNorm} (torch's clip_grad_norm_ rule) before the next optimizer step. */
    void clip(Optimizer optimizer, List<Param> params, double maxNorm);

    /** Makes the host LoRA tensors current (before an adapter or checkpoint is written). */
    void pullParameters();

    /** Makes the device use the host LoRA tensors (after an adapter was read into them). */
    void pushParameters();

    /** Device metrics since the last call (the peak memory), empty on the CPU; starts a new window. */
    Map<String, Double> memoryMetrics();

    @Override
    void close();

    /** training.device resolved: auto is CUDA when a GPU answers, else the CPU. */
    static TrainDevice open(TrainingSection.Device device) {
        CudaDevices.Report report = CudaDevices.query();
        boolean ready = report.status() == CudaDevices.Status.READY;
        return switch (device) {
            case CPU -> new Cpu();
            case AUTO -> ready ? CudaTrainDevice.open(0) : new Cpu();
            case CUDA -> {
                if (!ready) {
                    throw new UserError("training.device cuda: " + report.describe() + "; use --device cpu (or auto)");
                }
                yield CudaTrainDevice.open(0);
            }
        };
    }

    /** The CPU: the reference backend, host optimizers, {@link GradClip}. */
    final class Cpu implements TrainDevice {
        private final CpuBackend backend = new CpuBackend();

        @Override
        public Backend backend() {
            return backend;
        }

        @Override
        public String name() {
            return "cpu";
        }

        @Override
        public Optimizer optimizer(OptimizerName name, List<Param> params, AdamHyperparameters hp) {
            return name.create(params, hp);
        }

        @Override
        public double gradNorm(Optimizer optimizer, List<Param> params, double maxNorm) {
            return GradClip.norm(params);
        }

        @Override
        public void clip(Optimizer optimizer, List<Param> params, double maxNorm) {
            GradClip.clip(params, maxNorm);
        }

        @Override
        public void pullParameters() {}

        @Override
        public void pushParameters() {}

        @Override
        public Map<String, Double> memoryMetrics() {
            return Map.of();
        }

        @Override
        public void close() {}
    }
}
