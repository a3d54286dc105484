package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import jlora.tensor.DType;

/** SwiGLU on the device (cuda/swiglu.cu) over F32 or BF16 (every buffer one type), matching {@code CpuElementwise#swiglu(Backward)}. */
public final class SwigluKernels {
    private final CudaApi api;
    private final MethodHandle forward, backward;

    public SwigluKernels(CudaApi api) {
        this.api = api;
        forward = api.bindStatus("jl_swiglu_forward", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS);
        backward = api.bindStatus("jl_swiglu_backward", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
    }

    /** out = silu(gate) · up over the first {@code n} elements of each buffer. */
    public void forward(DType type, DeviceBuffer gate, DeviceBuffer up, long n, DeviceBuffer out) {
        int dt = ActivationType.code(type);
        long bytes = ActivationType.bytes(type, n);
        MemorySegment g = gate.at(0, bytes), u = up.at(0, bytes), o = out.at(0, bytes);
        api.run("jl_swiglu_forward", () -> (int) forward.invokeExact(g, u, n, o, dt, MemorySegment.NULL));
    }

    public void backward(DType type, DeviceBuffer dOut, DeviceBuffer gate, DeviceBuffer up, long n, DeviceBuffer dGate,
            DeviceBuffer dUp) {
        int dt = ActivationType.code(type);
        long bytes = ActivationType.bytes(type, n);
        MemorySegment d = dOut.at(0, bytes), g = gate.at(0, bytes), u = up.at(0, bytes);
        MemorySegment dg = dGate.at(0, bytes), du = dUp.at(0, bytes);
        api.run("jl_swiglu_backward", () -> (int) backward.invokeExact(d, g, u, n, dg, du, dt, MemorySegment.NULL));
    }
}
