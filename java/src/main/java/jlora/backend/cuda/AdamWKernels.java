package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The fused AdamW step (torch.optim.AdamW's update order) and the global gradient norm with
 * its clip coefficient, on the device (cuda/adamw.cu), over flat f32 buffers.
 */
public final class AdamWKernels {
    /** Hyperparameters as torch.optim.AdamW names them. */
    public record Hyper(float lr, float beta1, float beta2, float eps, float weightDecay) {}

    private final CudaApi api;
    private final MethodHandle step, norm, normWorkspace;

    public AdamWKernels(CudaApi api) {
        this.api = api;
        step = api.bindStatus("jl_adamw_step", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_FLOAT,
                JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_LONG, ADDRESS, ADDRESS);
        norm = api.bindStatus("jl_grad_norm", ADDRESS, JAVA_LONG, JAVA_FLOAT, ADDRESS, ADDRESS, ADDRESS);
        normWorkspace = api.bind("jl_grad_norm_workspace_bytes", FunctionDescriptor.of(JAVA_LONG));
    }

    /**
     * Step {@code t} (from 1) over {@code n} elements. {@code gradScale}: null, or a device
     * buffer whose float at {@code gradScaleIndex} multiplies every gradient first (the clip
     * coefficient {@link #gradNorm} wrote).
     */
    public void step(DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v, long n, Hyper h, long t,
            DeviceBuffer gradScale, int gradScaleIndex) {
        long bytes = 4 * n;
        MemorySegment p = param.at(0, bytes), g = grad.at(0, bytes), ms = m.at(0, bytes), vs = v.at(0, bytes);
        MemorySegment s = gradScale == null ? MemorySegment.NULL : gradScale.at(4L * gradScaleIndex, 4);
        api.run("jl_adamw_step", () -> (int) step.invokeExact(p, g, ms, vs, n, h.lr(), h.beta1(), h.beta2(), h.eps(),
                h.weightDecay(), t, s, MemorySegment.NULL));
    }

    public long gradNormWorkspaceBytes() {
        return CudaApi.call(() -> (long) normWorkspace.invokeExact());
    }

    /** out[0] = ‖grad‖₂ over n elements, out[1] = min(1, maxNorm / (norm + 1e-6)); both stay on the device. */
    public void gradNorm(DeviceBuffer grad, long n, float maxNorm, DeviceBuffer workspace, DeviceBuffer out) {
        MemorySegment g = grad.at(0, 4 * n), w = workspace.at(0, gradNormWorkspaceBytes()), o = out.at(0, 8);
        api.run("jl_grad_norm", () -> (int) norm.invokeExact(g, n, maxNorm, w, o, MemorySegment.NULL));
    }
}
