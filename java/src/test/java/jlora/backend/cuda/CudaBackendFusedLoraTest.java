package jlora.backend.cuda;

import org.junit.jupiter.api.Tag;

/**
 * {@link CudaBackendTest} with the fused kernels: bf16 / NF4 LoRA linears on {@link LoraLinearKernels}
 * (the LoRA product folded into the cuBLASLt base GEMM) and the bf16 LM head's cross-entropy on
 * {@link LmHeadCeKernels}; bf16 bounds for those, the other ops as in the parent.
 */
@Tag("gpu")
class CudaBackendFusedLoraTest extends CudaBackendTest {
    @Override
    boolean fusedLora() {
        return true;
    }
}
