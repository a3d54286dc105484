// Launchers of cuda/ce_chunk.cu, called from native/ce_chunk.cpp.
#ifndef JLORA_CE_CHUNK_CUH
#define JLORA_CE_CHUNK_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

cudaError_t ce_init(int64_t rows, float* m, float* s, float* tgt, cudaStream_t stream);
cudaError_t ce_chunk_update(const float* logits, int64_t rows, int64_t cols, int64_t ld, int64_t col0,
                            const int32_t* targets, float* m, float* s, float* tgt, cudaStream_t stream);
cudaError_t ce_finish(const float* m, const float* s, const float* tgt, const int32_t* targets, int64_t rows,
                      float* lse, double* sum_count, cudaStream_t stream);
cudaError_t ce_chunk_grad(float* logits, int64_t rows, int64_t cols, int64_t ld, int64_t col0, const int32_t* targets,
                          const float* lse, float scale, cudaStream_t stream);

}  // namespace jlora

#endif
