// f32 ⇄ bf16 casts.
//
// Must match jlora.tensor.HalfFloats bit for bit (CudaChainTest compares every element
// exactly). The narrowing rule lives in bf16_bits.cuh, in integer arithmetic: the kernel is
// memory-bound, the few integer ops are free. Widening is a 16-bit shift, exact.
//
// Layout: each thread moves 8 elements per step with 16-byte accesses (two float4 + one
// uint4 for f32 → bf16), coalesced across the warp; a grid-stride loop covers any n, and
// the n % 8 tail (or everything, when a pointer is not 16-byte aligned) goes element-wise.
#include "cast.cuh"
#include "bf16_bits.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;
constexpr int kVec = 8;
// Enough blocks to fill any current GPU several times over; the grid-stride loop does the rest.
constexpr int64_t kMaxBlocks = 65535;

__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
    return f32_to_bf16_bits(lo) | (f32_to_bf16_bits(hi) << 16);
}

__global__ void cast_f32_to_bf16_vec(const float4* __restrict__ src, uint4* __restrict__ dst,
                                     int64_t groups) {
    for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups;
         g += int64_t(gridDim.x) * blockDim.x) {
        float4 a = src[2 * g];
        float4 b = src[2 * g + 1];
        dst[g] = make_uint4(pack2(a.x, a.y), pack2(a.z, a.w), pack2(b.x, b.y), pack2(b.z, b.w));
    }
}

__global__ void cast_f32_to_bf16_scalar(const float* __restrict__ src, uint16_t* __restrict__ dst,
                                        int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        dst[i] = static_cast<uint16_t>(f32_to_bf16_bits(src[i]));
    }
}

__device__ __forceinline__ float lo_bf16(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float hi_bf16(uint32_t w) { return __uint_as_float(w & 0xFFFF0000u); }

__global__ void cast_bf16_to_f32_vec(const uint4* __restrict__ src, float4* __restrict__ dst,
                                     int64_t groups) {
    for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups;
         g += int64_t(gridDim.x) * blockDim.x) {
        uint4 w = src[g];
        dst[2 * g] = make_float4(lo_bf16(w.x), hi_bf16(w.x), lo_bf16(w.y), hi_bf16(w.y));
        dst[2 * g + 1] = make_float4(lo_bf16(w.z), hi_bf16(w.z), lo_bf16(w.w), hi_bf16(w.w));
    }
}

__global__ void cast_bf16_to_f32_scalar(const uint16_t* __restrict__ src, float* __restrict__ dst,
                                        int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        dst[i] = __uint_as_float(uint32_t(src[i]) << 16);
    }
}

unsigned blocks_for(int64_t work) {
    int64_t b = (work + kThreads - 1) / kThreads;
    return static_cast<unsigned>(b < kMaxBlocks ? b : kMaxBlocks);
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace

cudaError_t cast_f32_to_bf16(const float* src, uint16_t* dst, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    int64_t vec_elems = 0;
    if (aligned16(src) && aligned16(dst)) {
        int64_t groups = n / kVec;
        vec_elems = groups * kVec;
        if (groups > 0) {
            cast_f32_to_bf16_vec<<<blocks_for(groups), kThreads, 0, stream>>>(
                reinterpret_cast<const float4*>(src), reinterpret_cast<uint4*>(dst), groups);
            cudaError_t err = cudaGetLastError();
            if (err != cudaSuccess) return err;
        }
    }
    int64_t rest = n - vec_elems;
    if (rest > 0) {
        cast_f32_to_bf16_scalar<<<blocks_for(rest), kThreads, 0, stream>>>(src + vec_elems, dst + vec_elems, rest);
    }
    return cudaGetLastError();
}

cudaError_t cast_bf16_to_f32(const uint16_t* src, float* dst, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    int64_t vec_elems = 0;
    if (aligned16(src) && aligned16(dst)) {
        int64_t groups = n / kVec;
        vec_elems = groups * kVec;
        if (groups > 0) {
            cast_bf16_to_f32_vec<<<blocks_for(groups), kThreads, 0, stream>>>(
                reinterpret_cast<const uint4*>(src), reinterpret_cast<float4*>(dst), groups);
            cudaError_t err = cudaGetLastError();
            if (err != cudaSuccess) return err;
        }
    }
    int64_t rest = n - vec_elems;
    if (rest > 0) {
        cast_bf16_to_f32_scalar<<<blocks_for(rest), kThreads, 0, stream>>>(src + vec_elems, dst + vec_elems, rest);
    }
    return cudaGetLastError();
}

}  // namespace jlora
