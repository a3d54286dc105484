// C ABI over cuda/rope.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/rope.cuh"

extern "C" {

int jl_rope(const void* x, const int32_t* positions, const float* inv_freq, int32_t half, int64_t tokens,
            int32_t heads, int32_t head_dim, float scaling, int32_t sign, void* out, int32_t dtype, void* stream) {
    if (int rc = jlora::check_dtype("jl_rope", dtype)) return rc;
    if (tokens < 0 || tokens > 0x7FFFFFFF || heads <= 0 || half <= 0 || half > jlora::kRopeMaxHalf ||
        2 * half > head_dim) {
        return jlora::fail_argument("jl_rope: need tokens in [0, 2^31), heads > 0, 0 < half <= 512, 2*half <= head_dim");
    }
    if (tokens > 0 && (!x || !positions || !inv_freq || !out)) return jlora::fail_argument("jl_rope: null pointer");
    if (sign != 1 && sign != -1) return jlora::fail_argument("jl_rope: sign must be +1 (forward) or -1 (backward)");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dtype == JL_DTYPE_BF16) {
        JL_CHECK(jlora::rope_apply(static_cast<const uint16_t*>(x), positions, inv_freq, half, tokens, heads, head_dim,
                                   scaling, sign, static_cast<uint16_t*>(out), s));
    } else {
        JL_CHECK(jlora::rope_apply(static_cast<const float*>(x), positions, inv_freq, half, tokens, heads, head_dim,
                                   scaling, sign, static_cast<float*>(out), s));
    }
    return JL_OK;
}

}  // extern "C"
