// Launchers of cuda/cast.cu, called from native/cast.cpp.
#ifndef JLORA_CAST_CUH
#define JLORA_CAST_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

cudaError_t cast_f32_to_bf16(const float* src, uint16_t* dst, int64_t n, cudaStream_t stream);
cudaError_t cast_bf16_to_f32(const uint16_t* src, float* dst, int64_t n, cudaStream_t stream);

}  // namespace jlora

#endif
