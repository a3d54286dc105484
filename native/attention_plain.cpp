// C ABI over cuda/attention_plain.cu (fp32 attention for head sizes flash does not take).
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/attention_plain.cuh"

namespace {
int check(const char* fn, int64_t tokens, int hq, int hkv, int d) {
    if (tokens < 0 || tokens > 0x7FFFFFFF) return jlora::fail_argument("attention_plain: tokens outside [0, 2^31)");
    if (hq <= 0 || hkv <= 0 || hq % hkv != 0 || hq > 65535) return jlora::fail_argument("attention_plain: hq must be a positive multiple of hkv");
    if (d <= 0 || d > 256) return jlora::fail_argument("attention_plain: head dim must be in [1, 256]");
    (void)fn;
    return JL_OK;
}
}  // namespace

extern "C" {

JL_API int jl_attention_plain_forward(const float* q, const float* k, const float* v, const int32_t* doc_start,
                                      int64_t tokens, int32_t hq, int32_t hkv, int32_t d, float* out, float* lse,
                                      void* stream) {
    if (int rc = check("jl_attention_plain_forward", tokens, hq, hkv, d)) return rc;
    if (tokens > 0 && (!q || !k || !v || !doc_start || !out || !lse)) return jlora::fail_argument("jl_attention_plain_forward: null pointer");
    JL_CHECK(jlora::attention_plain_forward(q, k, v, doc_start, tokens, hq, hkv, d, out, lse,
                                            static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

JL_API int jl_attention_plain_backward(const float* dout, const float* q, const float* k, const float* v,
                                       const float* out, const float* lse, const int32_t* doc_start,
                                       const int32_t* doc_end, int64_t tokens, int32_t hq, int32_t hkv, int32_t d,
                                       float* dq, float* dk, float* dv, void* stream) {
    if (int rc = check("jl_attention_plain_backward", tokens, hq, hkv, d)) return rc;
    if (tokens > 0 && (!dout || !q || !k || !v || !out || !lse || !doc_start || !doc_end || !dq || !dk || !dv)) {
        return jlora::fail_argument("jl_attention_plain_backward: null pointer");
    }
    JL_CHECK(jlora::attention_plain_backward(dout, q, k, v, out, lse, doc_start, doc_end, tokens, hq, hkv, d, dq, dk,
                                             dv, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

}  // extern "C"
