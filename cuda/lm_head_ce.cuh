// Launchers of cuda/lm_head_ce.cu, called from native/lm_head_ce.cpp.
#ifndef JLORA_LM_HEAD_CE_CUH
#define JLORA_LM_HEAD_CE_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// dst (bf16 [n, cols], dense) = src[rows[c], :] (src f32 or bf16, row stride ld).
cudaError_t lmce_gather_rows(const void* src, bool src_bf16, int64_t ld, const int32_t* rows, int64_t n, int64_t cols,
                           uint16_t* dst, cudaStream_t stream);

// Online logsumexp over one vocabulary chunk: logits [n, cols] f32 (row stride ld) hold columns
// [v0, v0 + cols); state = {max[n], sum[n], target_logit[n]}, reset when first.
cudaError_t lmce_chunk_forward(const float* logits, int64_t ld, const int32_t* targets, int64_t n, int64_t cols, int64_t v0,
                             bool first, float* state, cudaStream_t stream);

// lse[rows[c]] = max + log(sum), loss[rows[c]] = lse - target_logit.
cudaError_t lmce_finalize(const float* state, const int32_t* rows, int64_t n, float* lse, float* loss, cudaStream_t stream);

// g (bf16 [n, cols], row stride g_ld) = (exp(logit - lse[rows[c]]) - [v0 + j == target]) · loss_scale.
cudaError_t lmce_chunk_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows,
                              const float* lse, int64_t n, int64_t cols, int64_t v0, float loss_scale, uint16_t* g,
                              int64_t g_ld, cudaStream_t stream);

// dst[rows[c], :] (f32 or bf16, row stride ld) = (or +=) src[c, :] (f32 dense [n, cols]).
cudaError_t lmce_scatter_rows(const float* src, int64_t n, int64_t cols, const int32_t* rows, void* dst, bool dst_bf16,
                            int64_t ld, bool accumulate, cudaStream_t stream);

// Whole vocabulary rows at once (the forward+backward path over row blocks): logits f32 [n, V]
// (row stride ld). Writes lse[rows[c]], loss[rows[c]] and, when g is not null, g (bf16, row
// stride g_ld) = (softmax - onehot) · loss_scale.
cudaError_t lmce_rows_forward_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows, int64_t n,
                                     int64_t vocab, float loss_scale, uint16_t* g, int64_t g_ld, float* lse, float* loss,
                                     cudaStream_t stream);

}  // namespace jlora

#endif
