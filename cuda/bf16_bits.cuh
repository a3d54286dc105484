// f32 → bf16 rounding shared by the cast kernels (device) and jl_cast_f32_to_bf16_host
// (CPU), so the rounding rule itself is tested on machines without a GPU.
//
// Matches jlora.tensor.HalfFloats.f32ToBf16 bit for bit: round to nearest, ties to even
// (add 0x7FFF plus the lowest kept bit, then truncate), ±Inf kept, and a NaN kept a quiet
// NaN with its sign and top payload bits ((bits >> 16) | 0x40) so that the rounding carry
// cannot turn it into Inf. cvt.rn.bf16.f32 would give the canonical NaN 0x7FFF instead.
#ifndef JLORA_BF16_BITS_CUH
#define JLORA_BF16_BITS_CUH

#include <cuda_runtime_api.h>
#include <cstdint>
#include <cstring>

namespace jlora {

__host__ __device__ __forceinline__ uint32_t f32_bits(float value) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(value);
#else
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
#endif
}

__host__ __device__ __forceinline__ uint32_t f32_to_bf16_bits(float value) {
    uint32_t bits = f32_bits(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (bits >> 16) | 0x0040u;
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return bits >> 16;
}

}  // namespace jlora

#endif
