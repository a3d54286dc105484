// Launch helpers shared by the kernel families: grid sizing for grid-stride loops, alignment
// tests for the 16-byte vector paths, and a deterministic block sum.
#ifndef JLORA_LAUNCH_CUH
#define JLORA_LAUNCH_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// Enough blocks to fill any current GPU several times over; grid-stride loops do the rest.
constexpr int64_t kMaxGridBlocks = 65535;

inline unsigned grid_for(int64_t work, int threads) {
    int64_t b = (work + threads - 1) / threads;
    if (b < 1) b = 1;
    return static_cast<unsigned>(b < kMaxGridBlocks ? b : kMaxGridBlocks);
}

inline bool is_aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

#ifdef __CUDACC__
// Sum of v over the block, returned to every thread. Fixed shuffle tree then a fixed warp
// order: the same inputs give the same bits on every run (no atomics). blockDim.x must be a
// multiple of 32 and at most 1024; every thread of the block must call it.
__device__ __forceinline__ float block_sum(float v) {
    __shared__ float warp_sums[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();  // warp_sums may still be read by a previous call
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    float s = lane < warps ? warp_sums[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, o);
    return s;
}
#endif

}  // namespace jlora

#endif
