// Launchers of cuda/rope.cu, called from native/rope.cpp.
#ifndef JLORA_ROPE_CUH
#define JLORA_ROPE_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// Most frequency pairs per head (head_dim up to 2 · kRopeMaxHalf).
constexpr int kRopeMaxHalf = 512;

// x, out: f32 [tokens, heads, head_dim] (out may alias x); positions i32 [tokens];
// inv_freq f32 [half] on the device; sign +1 forward, −1 backward (the transpose).
cudaError_t rope_apply(const float* x, const int32_t* positions, const float* inv_freq, int32_t half,
                       int64_t tokens, int32_t heads, int32_t head_dim, float scaling, int32_t sign,
                       float* out, cudaStream_t stream);
// bf16 x / out (uint16_t bits), fp32 inside.
cudaError_t rope_apply(const uint16_t* x, const int32_t* positions, const float* inv_freq, int32_t half,
                       int64_t tokens, int32_t heads, int32_t head_dim, float scaling, int32_t sign,
                       uint16_t* out, cudaStream_t stream);

}  // namespace jlora

#endif
