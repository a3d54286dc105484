// C ABI over cuda/nf4_dequant.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/launch.cuh"
#include "../cuda/nf4_dequant.cuh"

namespace {

int check_common(const char* fn, const uint8_t* packed, int64_t n, int32_t blocksize, const uint16_t* out) {
    if (n < 0 || (n > 0 && (!packed || !out))) return jlora::fail_argument(fn);
    if (blocksize < 32 || blocksize % 32 != 0) return jlora::fail_argument("NF4 dequant: blocksize must be a positive multiple of 32");
    if (!jlora::is_aligned16(packed) || !jlora::is_aligned16(out)) {
        return jlora::fail_argument("NF4 dequant: packed and out must be 16-byte aligned");
    }
    return JL_OK;
}

}  // namespace

extern "C" {

int jl_nf4_dequant_bf16(const uint8_t* packed, const float* absmax, int64_t n, int32_t blocksize, uint16_t* out,
                        void* stream) {
    int rc = check_common("jl_nf4_dequant_bf16: null pointer or negative n", packed, n, blocksize, out);
    if (rc != JL_OK) return rc;
    if (n > 0 && !absmax) return jlora::fail_argument("jl_nf4_dequant_bf16: null absmax");
    jlora::Nf4Args a{packed, absmax, nullptr, nullptr, nullptr, 0.0f, blocksize, 1, n, out};
    JL_CHECK(jlora::nf4_dequant_bf16(a, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_nf4_dequant_dq_bf16(const uint8_t* packed, const uint8_t* absmax_q, const float* nested_absmax,
                           const float* nested_code, float offset, int32_t nested_blocksize, int64_t n,
                           int32_t blocksize, uint16_t* out, void* stream) {
    int rc = check_common("jl_nf4_dequant_dq_bf16: null pointer or negative n", packed, n, blocksize, out);
    if (rc != JL_OK) return rc;
    if (n > 0 && (!absmax_q || !nested_absmax || !nested_code)) {
        return jlora::fail_argument("jl_nf4_dequant_dq_bf16: null absmax codes, nested absmax or code");
    }
    if (nested_blocksize <= 0) return jlora::fail_argument("jl_nf4_dequant_dq_bf16: nested blocksize must be positive");
    jlora::Nf4Args a{packed, nullptr, absmax_q, nested_absmax, nested_code, offset, blocksize, nested_blocksize, n, out};
    JL_CHECK(jlora::nf4_dequant_bf16(a, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

}  // extern "C"
