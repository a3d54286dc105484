// Launcher of cuda/simt_gemm.cu, called from native/simt_gemm.cpp.
#ifndef JLORA_SIMT_GEMM_CUH
#define JLORA_SIMT_GEMM_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// C[M, N] = alpha · op(A) · op(B) + beta · C, row-major, C f32. op(A) is [M, K]: A stored [M, K]
// (lda ≥ K) or, with trans_a, A stored [K, M] (lda ≥ M); op(B) is [K, N]: B stored [K, N] or,
// with trans_b, [N, K]. a_bf16 / b_bf16: the operand holds bf16 bit patterns instead of f32.
// beta == 0 never reads C (it may hold NaN poison).
cudaError_t simt_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const void* a,
                      bool a_bf16, int64_t lda, const void* b, bool b_bf16, int64_t ldb, float beta, float* c,
                      int64_t ldc, cudaStream_t stream);

}  // namespace jlora

#endif
