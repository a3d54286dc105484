// Element access for kernels that take f32 or bf16 activations: loads widen to fp32 (bf16 is
// the top half of an f32, exact), stores round once with f32_to_bf16_bits (RNE, as
// jlora.tensor.HalfFloats). bf16 tensors travel as uint16_t bit patterns. The C ABI names
// the type with JL_DTYPE_F32 / JL_DTYPE_BF16 (native/jlora_cuda.h).
#ifndef JLORA_ELEM_CUH
#define JLORA_ELEM_CUH

#include <cstdint>
#include "bf16_bits.cuh"

namespace jlora {

#ifdef __CUDACC__
__device__ __forceinline__ float ld(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld(const uint16_t* p, int64_t i) { return __uint_as_float(uint32_t(p[i]) << 16); }
__device__ __forceinline__ void st(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void st(uint16_t* p, int64_t i, float v) { p[i] = static_cast<uint16_t>(f32_to_bf16_bits(v)); }
#endif

}  // namespace jlora

#endif
