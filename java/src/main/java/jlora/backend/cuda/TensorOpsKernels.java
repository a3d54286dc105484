package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The small f32 element-wise ops of the CUDA backend (cuda/tensor_ops.cu): residual add, bias
 * rows and their column-sum gradient, and LoRA dropout with {@code jlora.backend.Dropout}'s
 * exact mask. Addresses only: the CUDA backend checks shapes.
 */
final class TensorOpsKernels {
    private final CudaApi api;
    private final MethodHandle add, bias, colSums, dropoutApply, dropoutAdd;

    TensorOpsKernels(CudaApi api) {
        this.api = api;
        add = api.bindStatus("jl_add_f32", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS);
        bias = api.bindStatus("jl_add_bias_rows", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        colSums = api.bindStatus("jl_column_sums_add", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
        dropoutApply = api.bindStatus("jl_dropout_apply", ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_LONG, ADDRESS, ADDRESS);
        dropoutAdd = api.bindStatus("jl_dropout_add", ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_LONG, ADDRESS, ADDRESS);
    }

    private static MemorySegment p(long a) {
        return MemorySegment.ofAddress(a);
    }

    /** out = a + b over n floats (out may be a or b). */
    void add(long a, long b, long n, long out) {
        api.run("jl_add_f32", () -> (int) add.invokeExact(p(a), p(b), n, p(out), MemorySegment.NULL));
    }

    /** out[r, c] += bias[c]. */
    void addBiasRows(long out, long biasAddress, long rows, long cols) {
        api.run("jl_add_bias_rows", () -> (int) bias.invokeExact(p(out), p(biasAddress), rows, cols, MemorySegment.NULL));
    }

    /** dst[c] += Σ_r src[r, c], rows in order. */
    void columnSumsAdd(long src, long rows, long cols, long dst) {
        api.run("jl_column_sums_add", () -> (int) colSums.invokeExact(p(src), rows, cols, p(dst), MemorySegment.NULL));
    }

    /** out[i] = x[i] · factor(i) (Dropout's mask; out may be x). */
    void dropoutApply(long x, long n, float dropP, long seed, long out) {
        api.run("jl_dropout_apply", () -> (int) dropoutApply.invokeExact(p(x), n, dropP, seed, p(out), MemorySegment.NULL));
    }

    /** out[i] += factor(i) · x[i]. */
    void dropoutAdd(long x, long n, float dropP, long seed, long out) {
        api.run("jl_dropout_add", () -> (int) dropoutAdd.invokeExact(p(x), n, dropP, seed, p(out), MemorySegment.NULL));
    }
}
