package jlora.backend.cuda;

import org.junit.jupiter.api.Tag;

/**
 * {@link CudaBackendTest} with bf16 / NF4 LoRA linears on the fused kernel ({@link LoraLinearKernels}:
 * the LoRA product folded into the cuBLASLt base GEMM); bf16 bounds for those layers, the others
 * as in the parent.
 */
@Tag("gpu")
class CudaBackendFusedLoraTest extends CudaBackendTest {
    @Override
    boolean fusedLora() {
        return true;
    }
}
