// Launchers of cuda/swiglu.cu, called from native/swiglu.cpp.
#ifndef JLORA_SWIGLU_CUH
#define JLORA_SWIGLU_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

cudaError_t swiglu_forward(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream);
cudaError_t swiglu_backward(const float* dout, const float* gate, const float* up, int64_t n, float* dgate,
                            float* dup, cudaStream_t stream);
// bf16 in and out, fp32 inside (one rounding per output).
cudaError_t swiglu_forward_bf16(const uint16_t* gate, const uint16_t* up, int64_t n, uint16_t* out, cudaStream_t stream);
cudaError_t swiglu_backward_bf16(const uint16_t* dout, const uint16_t* gate, const uint16_t* up, int64_t n,
                                 uint16_t* dgate, uint16_t* dup, cudaStream_t stream);

}  // namespace jlora

#endif
