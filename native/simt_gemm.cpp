// C ABI over cuda/simt_gemm.cu (the plain fp32 GEMM of the CUDA backend).
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/simt_gemm.cuh"

extern "C" {

// flags: bit 0 trans_a, bit 1 trans_b, bit 2 A is bf16, bit 3 B is bf16.
JL_API int jl_simt_gemm(int32_t flags, int64_t m, int64_t n, int64_t k, float alpha, const void* a, int64_t lda,
                        const void* b, int64_t ldb, float beta, float* c, int64_t ldc, void* stream) {
    if (m < 0 || n < 0 || k < 0) return jlora::fail_argument("jl_simt_gemm: negative dimension");
    if (m > 0 && n > 0 && (!c || (k > 0 && (!a || !b)))) return jlora::fail_argument("jl_simt_gemm: null pointer");
    if ((m + 63) / 64 > 65535) return jlora::fail_argument("jl_simt_gemm: more than 65535 * 64 rows");
    const bool ta = flags & 1, tb = flags & 2;
    if (lda < (ta ? m : k) || ldb < (tb ? k : n) || ldc < n) return jlora::fail_argument("jl_simt_gemm: leading dimension too small");
    JL_CHECK(jlora::simt_gemm(ta, tb, m, n, k, alpha, a, flags & 4, lda, b, flags & 8, ldb, beta, c, ldc,
                              static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

}  // extern "C"
