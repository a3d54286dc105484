// Launchers of cuda/embedding.cu, called from native/embedding.cpp.
#ifndef JLORA_EMBEDDING_CUH
#define JLORA_EMBEDDING_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// Gather out[t] = table[ids[t]] ([vocab, dim] → [tokens, dim], both f32 or both bf16). A row whose id is
// outside [0, vocab) is written as zeros and recorded in *bad = (lowest such position << 32) |
// uint32(its id); *bad must be all ones before the launch (embedding_reset_bad).
cudaError_t embedding_forward(const float* table, const int32_t* ids, int64_t tokens, int64_t vocab, int64_t dim,
                              float* out, uint64_t* bad, cudaStream_t stream);
cudaError_t embedding_forward(const uint16_t* table, const int32_t* ids, int64_t tokens, int64_t vocab, int64_t dim,
                              uint16_t* out, uint64_t* bad, cudaStream_t stream);
cudaError_t embedding_reset_bad(uint64_t* bad, cudaStream_t stream);
// dtable[ids[t]] += dout[t] for t in order (ids already checked by the forward pass; an
// out-of-range id is skipped).
cudaError_t embedding_backward(const int32_t* ids, const float* dout, int64_t tokens, int64_t vocab, int64_t dim,
                               float* dtable, cudaStream_t stream);
cudaError_t embedding_backward(const int32_t* ids, const uint16_t* dout, int64_t tokens, int64_t vocab, int64_t dim,
                               float* dtable, cudaStream_t stream);

}  // namespace jlora

#endif
