package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import jlora.tensor.DType;

/**
 * Rotary position embedding on the device (cuda/rope.cu), rotate-half, over F32 or BF16
 * {@code [tokens, heads, headDim]}; matches {@code jlora.backend.cpu.CpuRope}. {@code invFreq}
 * ({@code half} f32 on the device) and {@code scaling} carry the RoPE scaling type, as on the CPU.
 * {@code out} may be {@code x} (in place).
 */
public final class RopeKernels {
    private final CudaApi api;
    private final MethodHandle rope;

    public RopeKernels(CudaApi api) {
        this.api = api;
        rope = api.bindStatus("jl_rope", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_FLOAT,
                JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
    }

    public void forward(DType type, DeviceBuffer x, DeviceBuffer positions, DeviceBuffer invFreq, int half, long tokens, int heads,
            int headDim, float scaling, DeviceBuffer out) {
        apply(type, x, positions, invFreq, half, tokens, heads, headDim, scaling, 1, out);
    }

    /** The transpose of {@link #forward}: rotation by the negated angle. */
    public void backward(DType type, DeviceBuffer dOut, DeviceBuffer positions, DeviceBuffer invFreq, int half, long tokens,
            int heads, int headDim, float scaling, DeviceBuffer dx) {
        apply(type, dOut, positions, invFreq, half, tokens, heads, headDim, scaling, -1, dx);
    }

    private void apply(DType type, DeviceBuffer x, DeviceBuffer positions, DeviceBuffer invFreq, int half, long tokens, int heads,
            int headDim, float scaling, int sign, DeviceBuffer out) {
        int dt = ActivationType.code(type);
        long bytes = ActivationType.bytes(type, Math.multiplyExact(tokens, Math.multiplyExact((long) heads, headDim)));
        MemorySegment xs = x.at(0, bytes), ps = positions.at(0, 4 * tokens), fs = invFreq.at(0, 4L * half);
        MemorySegment ys = out.at(0, bytes);
        api.run("jl_rope", () -> (int) rope.invokeExact(xs, ps, fs, half, tokens, heads, headDim, scaling, sign, ys,
                dt, MemorySegment.NULL));
    }
}
