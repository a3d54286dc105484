// Launchers of cuda/attention_plain.cu, called from native/attention_plain.cpp.
#ifndef JLORA_ATTENTION_PLAIN_CUH
#define JLORA_ATTENTION_PLAIN_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// q [T, hq, d], k / v [T, hkv, d], out [T, hq, d], lse [T, hq]; all f32. Token i attends to
// [doc_start[i], i]; doc_end[j] is one past the last token of j's document. d ≤ 256.
cudaError_t attention_plain_forward(const float* q, const float* k, const float* v, const int32_t* doc_start,
                                    int64_t tokens, int hq, int hkv, int d, float* out, float* lse, cudaStream_t stream);
cudaError_t attention_plain_backward(const float* dout, const float* q, const float* k, const float* v,
                                     const float* out, const float* lse, const int32_t* doc_start,
                                     const int32_t* doc_end, int64_t tokens, int hq, int hkv, int d, float* dq,
                                     float* dk, float* dv, cudaStream_t stream);

}  // namespace jlora

#endif
