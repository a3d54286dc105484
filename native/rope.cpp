// C ABI over cuda/rope.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/rope.cuh"

extern "C" {

int jl_rope(const float* x, const int32_t* positions, const float* inv_freq, int32_t half, int64_t tokens,
            int32_t heads, int32_t head_dim, float scaling, int32_t sign, float* out, void* stream) {
    if (tokens < 0 || tokens > 0x7FFFFFFF || heads <= 0 || half <= 0 || half > jlora::kRopeMaxHalf ||
        2 * half > head_dim) {
        return jlora::fail_argument("jl_rope: need tokens in [0, 2^31), heads > 0, 0 < half <= 512, 2*half <= head_dim");
    }
    if (tokens > 0 && (!x || !positions || !inv_freq || !out)) return jlora::fail_argument("jl_rope: null pointer");
    if (sign != 1 && sign != -1) return jlora::fail_argument("jl_rope: sign must be +1 (forward) or -1 (backward)");
    JL_CHECK(jlora::rope_apply(x, positions, inv_freq, half, tokens, heads, head_dim, scaling, sign, out,
                               static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

}  // extern "C"
