package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The plain fp32 SIMT GEMM (cuda/simt_gemm.cu): {@code C = alpha·op(A)·op(B) + beta·C},
 * row-major, operands f32 or bf16, C f32. The correct path the CUDA backend's linear, LoRA and
 * cross-entropy use until a tensor-core GEMM takes over; the caller checks shapes against its
 * tensors (this class sees addresses only).
 */
final class SimtGemm {
    /** One operand: a device address, whether it holds bf16, whether it is stored transposed, its row stride. */
    record Operand(long address, boolean bf16, boolean transposed, long ld) {}

    private final CudaApi api;
    private final MethodHandle gemm;

    SimtGemm(CudaApi api) {
        this.api = api;
        gemm = api.bindStatus("jl_simt_gemm", JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG,
                ADDRESS, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS);
    }

    /** C [m, n] (row stride ldc) = alpha · op(A) [m, k] · op(B) [k, n] + beta · C. */
    void run(long m, long n, long k, float alpha, Operand a, Operand b, float beta, long c, long ldc) {
        int flags = (a.transposed() ? 1 : 0) | (b.transposed() ? 2 : 0) | (a.bf16() ? 4 : 0) | (b.bf16() ? 8 : 0);
        MemorySegment as = MemorySegment.ofAddress(a.address()), bs = MemorySegment.ofAddress(b.address());
        MemorySegment cs = MemorySegment.ofAddress(c);
        long lda = a.ld(), ldb = b.ld();
        api.run("jl_simt_gemm", () -> (int) gemm.invokeExact(flags, m, n, k, alpha, as, lda, bs, ldb, beta, cs, ldc,
                MemorySegment.NULL));
    }
}
