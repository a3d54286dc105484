package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import jlora.tensor.DType;

/**
 * RMSNorm forward / backward on the device (cuda/rms_norm.cu) over rows {@code [rows, dim]} of
 * F32 or BF16 activations (x, out, dOut, dx); weight, rstd and dWeight are F32. Matches
 * {@code jlora.backend.cpu.CpuRmsNorm} to fp32 rounding (F32) or one bf16 rounding (BF16). The backward's dWeight is
 * accumulated ({@code +=}) deterministically through a workspace of
 * {@link #workspaceBytes(long, long)} bytes.
 */
public final class RmsNormKernels {
    private final CudaApi api;
    private final MethodHandle forward, backward, workspace;

    public RmsNormKernels(CudaApi api) {
        this.api = api;
        forward = api.bindStatus("jl_rms_norm_forward", ADDRESS, ADDRESS, JAVA_FLOAT, JAVA_LONG, JAVA_LONG, ADDRESS,
                ADDRESS, JAVA_INT, ADDRESS);
        backward = api.bindStatus("jl_rms_norm_backward", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        workspace = api.bind("jl_rms_norm_workspace_bytes", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    }

    public long workspaceBytes(long rows, long dim) {
        long bytes = CudaApi.call(() -> (long) workspace.invokeExact(rows, dim));
        if (bytes < 0) throw new IllegalArgumentException("RMSNorm shape [" + rows + ", " + dim + "] not supported");
        return bytes;
    }

    /** out = x · r · weight, rstd[t] = r of row t. */
    public void forward(DType type, DeviceBuffer x, DeviceBuffer weight, float eps, long rows, long dim, DeviceBuffer out,
            DeviceBuffer rstd) {
        int dt = ActivationType.code(type);
        long bytes = ActivationType.bytes(type, Math.multiplyExact(rows, dim));
        MemorySegment xs = x.at(0, bytes), ws = weight.at(0, 4 * dim), ys = out.at(0, bytes), rs = rstd.at(0, 4 * rows);
        api.run("jl_rms_norm_forward", () -> (int) forward.invokeExact(xs, ws, eps, rows, dim, ys, rs, dt, MemorySegment.NULL));
    }

    /** dx from dOut; dWeight (null: none) += Σ_t dOut·x·r. */
    public void backward(DType type, DeviceBuffer dOut, DeviceBuffer x, DeviceBuffer weight, DeviceBuffer rstd, long rows,
            long dim, DeviceBuffer dx, DeviceBuffer dWeight, DeviceBuffer scratch) {
        int dt = ActivationType.code(type);
        long bytes = ActivationType.bytes(type, Math.multiplyExact(rows, dim));
        MemorySegment gs = dOut.at(0, bytes), xs = x.at(0, bytes), ws = weight.at(0, 4 * dim), rs = rstd.at(0, 4 * rows);
        MemorySegment dxs = dx.at(0, bytes);
        MemorySegment dws = dWeight == null ? MemorySegment.NULL : dWeight.at(0, 4 * dim);
        MemorySegment wk = dWeight == null ? MemorySegment.NULL : scratch.at(0, workspaceBytes(rows, dim));
        api.run("jl_rms_norm_backward",
                () -> (int) backward.invokeExact(gs, xs, ws, rs, rows, dim, dxs, dws, wk, dt, MemorySegment.NULL));
    }
}
