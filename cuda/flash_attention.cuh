// Launchers of cuda/flash_attention.cu, called from native/flash_attention.cpp.
#ifndef JLORA_FLASH_ATTENTION_CUH
#define JLORA_FLASH_ATTENTION_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// Packed variable-length batch: documents b in [0, batch) own tokens [cu[b], cu[b+1]) of q
// [T, hq, d], k / v [T, hkv, d] (bf16 bits); out [T, hq, d] bf16, lse [T, hq] fp32 (natural
// log). max_seqlen bounds cu[b+1] − cu[b] (it sizes the grid). head_dim 64 or 128.
struct FlashShape {
    const int32_t* cu_seqlens;  // device, batch + 1 entries
    int batch, max_seqlen, total_tokens, hq, hkv, head_dim;
};

cudaError_t flash_attention_forward(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                    uint16_t* out, float* lse, cudaStream_t stream);

// workspace: 2 · total_tokens · hq floats: D = rowsum(dO ∘ O), then (v2) lse · log2 e, both per
// (head, token); v1 uses the first half.
inline int64_t flash_backward_workspace_floats(int64_t total_tokens, int64_t hq) { return 2 * total_tokens * hq; }

cudaError_t flash_attention_backward(const FlashShape& s, const uint16_t* dout, const uint16_t* q, const uint16_t* k,
                                     const uint16_t* v, const uint16_t* out, const float* lse, uint16_t* dq,
                                     uint16_t* dk, uint16_t* dv, float* workspace, cudaStream_t stream);

// v2 (cuda/flash_attention_v2.cu): the same contract, ldmatrix + cp.async double buffering +
// 8-warp blocks.
cudaError_t flash_attention_forward_v2(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                       uint16_t* out, float* lse, cudaStream_t stream);
// v3: v2 with the forward's warps owning 32 rows (two m16 tiles) each.
cudaError_t flash_attention_forward_v3(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                       uint16_t* out, float* lse, cudaStream_t stream);
cudaError_t flash_attention_backward_v2(const FlashShape& s, const uint16_t* dout, const uint16_t* q,
                                        const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                                        uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace,
                                        cudaStream_t stream);

// v4 backward: 2-D warp tiles (scores 32 × 32 per warp, P and dS staged in shared memory as
// bf16, then 32 rows × D/2 columns of dQ / dK / dV per warp); same workspace as v2.
cudaError_t flash_attention_backward_v4(const FlashShape& s, const uint16_t* dout, const uint16_t* q,
                                        const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                                        uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace,
                                        cudaStream_t stream);

// v5 backward: v2's kernels with 4-warp blocks (64 query rows / 64 keys), two blocks per SM.
cudaError_t flash_attention_backward_v5(const FlashShape& s, const uint16_t* dout, const uint16_t* q,
                                        const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                                        uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace,
                                        cudaStream_t stream);

// Split-K decode: one query token q [hq, d] against a cache k / v [len, hkv, d] (every key
// visible); out [hq, d] bf16, lse [hq] fp32 (may be null).
int flash_decode_splits(int64_t len);
inline int64_t flash_decode_workspace_floats(int64_t len, int64_t hq, int64_t d) {
    return int64_t(flash_decode_splits(len)) * hq * (d + 2);
}
cudaError_t flash_decode(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int hq, int hkv,
                         int head_dim, uint16_t* out, float* lse, float* workspace, cudaStream_t stream);
// v2: a block per (split, kv head) reads K/V once for the group's query heads; same workspace.
cudaError_t flash_decode_v2(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int hq, int hkv,
                            int head_dim, uint16_t* out, float* lse, float* workspace, cudaStream_t stream);

}  // namespace jlora

#endif
