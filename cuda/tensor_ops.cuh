// Launchers of cuda/tensor_ops.cu, called from native/tensor_ops.cpp.
#ifndef JLORA_TENSOR_OPS_CUH
#define JLORA_TENSOR_OPS_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

cudaError_t add_f32(const float* a, const float* b, int64_t n, float* out, cudaStream_t stream);
cudaError_t add_bias_rows(float* out, const float* bias, int64_t rows, int64_t cols, cudaStream_t stream);
cudaError_t column_sums_add(const float* src, int64_t rows, int64_t cols, float* dst, cudaStream_t stream);
cudaError_t dropout_apply(const float* x, int64_t n, float p, int64_t seed, float* out, cudaStream_t stream);
cudaError_t dropout_add(const float* x, int64_t n, float p, int64_t seed, float* out, cudaStream_t stream);

}  // namespace jlora

#endif
