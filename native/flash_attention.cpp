// C ABI over cuda/flash_attention.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/flash_attention.cuh"
#include "../cuda/launch.cuh"

#include <string>

namespace {

// grid.x = ceil(max_seqlen / 64), grid.y = heads, grid.z = batch (< 65536).
const char* bad_shape(int32_t batch, int32_t max_seqlen, int64_t total, int32_t hq, int32_t hkv, int32_t d) {
    if (d != 64 && d != 128) return "head_dim must be 64 or 128";
    if (batch < 0 || batch > 65535) return "batch must be in [0, 65535]";
    if (max_seqlen < 0 || total < 0 || total > 0x7FFFFFFF) return "max_seqlen and total_tokens must be in [0, 2^31)";
    if (hq <= 0 || hkv <= 0 || hq > 65535 || hq % hkv != 0) return "hq must be a positive multiple of hkv (<= 65535)";
    return nullptr;
}

bool aligned(const void* p) { return p == nullptr || jlora::is_aligned16(p); }

int fail_shape(const char* fn, const char* why) { return jlora::fail_argument((std::string(fn) + ": " + why).c_str()); }

using Forward = cudaError_t (*)(const jlora::FlashShape&, const uint16_t*, const uint16_t*, const uint16_t*, uint16_t*,
                                float*, cudaStream_t);
using Backward = cudaError_t (*)(const jlora::FlashShape&, const uint16_t*, const uint16_t*, const uint16_t*,
                                 const uint16_t*, const uint16_t*, const float*, uint16_t*, uint16_t*, uint16_t*, float*,
                                 cudaStream_t);

int forward(Forward run, const char* fn, const uint16_t* q, const uint16_t* k, const uint16_t* v,
            const int32_t* cu_seqlens, int32_t batch, int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv,
            int32_t head_dim, uint16_t* out, float* lse, void* stream) {
    if (const char* why = bad_shape(batch, max_seqlen, total_tokens, hq, hkv, head_dim)) return fail_shape(fn, why);
    if (total_tokens > 0 && (!q || !k || !v || !cu_seqlens || !out || !lse)) return fail_shape(fn, "null pointer");
    if (!aligned(q) || !aligned(k) || !aligned(v) || !aligned(out)) {
        return fail_shape(fn, "q, k, v, out must be 16-byte aligned");
    }
    const jlora::FlashShape s{cu_seqlens, batch, max_seqlen, int(total_tokens), hq, hkv, head_dim};
    JL_CHECK(run(s, q, k, v, out, lse, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int backward(Backward run, const char* fn, const uint16_t* dout, const uint16_t* q, const uint16_t* k,
             const uint16_t* v, const uint16_t* out, const float* lse, const int32_t* cu_seqlens, int32_t batch,
             int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv, int32_t head_dim, uint16_t* dq,
             uint16_t* dk, uint16_t* dv, float* workspace, void* stream) {
    if (const char* why = bad_shape(batch, max_seqlen, total_tokens, hq, hkv, head_dim)) return fail_shape(fn, why);
    if (total_tokens > 0 &&
        (!dout || !q || !k || !v || !out || !lse || !cu_seqlens || !dq || !dk || !dv || !workspace)) {
        return fail_shape(fn, "null pointer");
    }
    if (!aligned(dout) || !aligned(q) || !aligned(k) || !aligned(v) || !aligned(out) || !aligned(dq) ||
        !aligned(dk) || !aligned(dv)) {
        return fail_shape(fn, "bf16 buffers must be 16-byte aligned");
    }
    const jlora::FlashShape s{cu_seqlens, batch, max_seqlen, int(total_tokens), hq, hkv, head_dim};
    JL_CHECK(run(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

using Decode = cudaError_t (*)(const uint16_t*, const uint16_t*, const uint16_t*, int64_t, int, int, int, uint16_t*,
                               float*, float*, cudaStream_t);

int decode(Decode run, const char* fn, const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len,
           int32_t hq, int32_t hkv, int32_t head_dim, uint16_t* out, float* lse, float* workspace, void* stream) {
    if (const char* why = bad_shape(1, 0, 0, hq, hkv, head_dim)) return fail_shape(fn, why);
    if (len < 0 || len > 0x7FFFFFFF) return fail_shape(fn, "len must be in [0, 2^31)");
    if (len > 0 && (!q || !k || !v || !out || !workspace)) return fail_shape(fn, "null pointer");
    JL_CHECK(run(q, k, v, len, hq, hkv, head_dim, out, lse, workspace, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

}  // namespace

extern "C" {

int jl_flash_attention_forward(const uint16_t* q, const uint16_t* k, const uint16_t* v, const int32_t* cu_seqlens,
                               int32_t batch, int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv,
                               int32_t head_dim, uint16_t* out, float* lse, void* stream) {
    return forward(jlora::flash_attention_forward, "jl_flash_attention_forward", q, k, v, cu_seqlens, batch,
                   max_seqlen, total_tokens, hq, hkv, head_dim, out, lse, stream);
}

int jl_flash_attention_forward_v2(const uint16_t* q, const uint16_t* k, const uint16_t* v, const int32_t* cu_seqlens,
                                  int32_t batch, int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv,
                                  int32_t head_dim, uint16_t* out, float* lse, void* stream) {
    return forward(jlora::flash_attention_forward_v2, "jl_flash_attention_forward_v2", q, k, v, cu_seqlens, batch,
                   max_seqlen, total_tokens, hq, hkv, head_dim, out, lse, stream);
}

int jl_flash_attention_forward_v3(const uint16_t* q, const uint16_t* k, const uint16_t* v, const int32_t* cu_seqlens,
                                  int32_t batch, int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv,
                                  int32_t head_dim, uint16_t* out, float* lse, void* stream) {
    return forward(jlora::flash_attention_forward_v3, "jl_flash_attention_forward_v3", q, k, v, cu_seqlens, batch,
                   max_seqlen, total_tokens, hq, hkv, head_dim, out, lse, stream);
}

int64_t jl_flash_attention_backward_workspace_bytes(int64_t total_tokens, int32_t hq) {
    if (total_tokens < 0 || hq <= 0) return -1;
    return 4 * jlora::flash_backward_workspace_floats(total_tokens, hq);
}

int jl_flash_attention_backward(const uint16_t* dout, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                const uint16_t* out, const float* lse, const int32_t* cu_seqlens, int32_t batch,
                                int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv, int32_t head_dim,
                                uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace, void* stream) {
    return backward(jlora::flash_attention_backward, "jl_flash_attention_backward", dout, q, k, v, out, lse,
                    cu_seqlens, batch, max_seqlen, total_tokens, hq, hkv, head_dim, dq, dk, dv, workspace, stream);
}

int jl_flash_attention_backward_v2(const uint16_t* dout, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                   const uint16_t* out, const float* lse, const int32_t* cu_seqlens, int32_t batch,
                                   int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv, int32_t head_dim,
                                   uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace, void* stream) {
    return backward(jlora::flash_attention_backward_v2, "jl_flash_attention_backward_v2", dout, q, k, v, out, lse,
                    cu_seqlens, batch, max_seqlen, total_tokens, hq, hkv, head_dim, dq, dk, dv, workspace, stream);
}

int jl_flash_attention_backward_v4(const uint16_t* dout, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                   const uint16_t* out, const float* lse, const int32_t* cu_seqlens, int32_t batch,
                                   int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv, int32_t head_dim,
                                   uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace, void* stream) {
    return backward(jlora::flash_attention_backward_v4, "jl_flash_attention_backward_v4", dout, q, k, v, out, lse,
                    cu_seqlens, batch, max_seqlen, total_tokens, hq, hkv, head_dim, dq, dk, dv, workspace, stream);
}

int jl_flash_attention_backward_v5(const uint16_t* dout, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                   const uint16_t* out, const float* lse, const int32_t* cu_seqlens, int32_t batch,
                                   int32_t max_seqlen, int64_t total_tokens, int32_t hq, int32_t hkv, int32_t head_dim,
                                   uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace, void* stream) {
    return backward(jlora::flash_attention_backward_v5, "jl_flash_attention_backward_v5", dout, q, k, v, out, lse,
                    cu_seqlens, batch, max_seqlen, total_tokens, hq, hkv, head_dim, dq, dk, dv, workspace, stream);
}

int64_t jl_flash_decode_workspace_bytes(int64_t len, int32_t hq, int32_t head_dim) {
    if (len < 0 || hq <= 0 || (head_dim != 64 && head_dim != 128)) return -1;
    return 4 * jlora::flash_decode_workspace_floats(len, hq, head_dim);
}

int jl_flash_decode(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int32_t hq, int32_t hkv,
                    int32_t head_dim, uint16_t* out, float* lse, float* workspace, void* stream) {
    return decode(jlora::flash_decode, "jl_flash_decode", q, k, v, len, hq, hkv, head_dim, out, lse, workspace, stream);
}

int jl_flash_decode_v2(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int32_t hq, int32_t hkv,
                       int32_t head_dim, uint16_t* out, float* lse, float* workspace, void* stream) {
    if (!aligned(k) || !aligned(v)) return fail_shape("jl_flash_decode_v2", "k, v must be 16-byte aligned");
    return decode(jlora::flash_decode_v2, "jl_flash_decode_v2", q, k, v, len, hq, hkv, head_dim, out, lse, workspace,
                  stream);
}

}  // extern "C"
