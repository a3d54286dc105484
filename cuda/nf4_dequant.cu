// NF4 (+ double quant) → bf16 dequantization into the scratch buffer the LoRA GEMM reads.
//
// Must match jlora.quant.Nf4Tensor#dequantize(BF16) bit for bit (Nf4DequantKernelsTest compares
// every element exactly): with double quant the block scale is first rebuilt as
// DoubleQuant.dequantize does, absmax = fl(fl(code8[q] * nested[b / 256]) + offset) (two
// roundings, so __fmul_rn / __fadd_rn: an FMA would round once and differ), then each element
// is fl(NF4[nibble] * absmax) rounded once to bf16 by f32_to_bf16_bits (round to nearest
// even, as HalfFloats). Nibble order as bitsandbytes: element 2i in the high nibble of byte i.
//
// Layout: one thread takes 16 packed bytes (one 16-byte load, 32 elements, all in one absmax
// block since blocksize % 32 == 0) and writes 64 bytes (four 16-byte stores). The NF4 and
// 8-bit code books sit in shared memory. The n % 32 tail goes element-wise in block 0.
// Memory-bound: 2.5 bytes moved per element (0.5 read, 2 written) plus absmax.
#include "nf4_dequant.cuh"
#include "bf16_bits.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;

// bitsandbytes nf4_dequantization_lut, as jlora.quant.Nf4.CODE.
__constant__ float kNf4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

template <bool kNested>
__device__ __forceinline__ float block_absmax(const Nf4Args& a, const float* code8, int64_t block) {
    if (!kNested) return a.absmax_f32[block];
    float c = code8[a.absmax_q[block]];
    return __fadd_rn(__fmul_rn(c, a.nested_absmax[block / a.nested_blocksize]), a.offset);
}

__device__ __forceinline__ uint32_t dq_pair(uint32_t byte, const float* nf4, float scale) {
    // high nibble = even element = low half of the packed bf16 pair (little endian)
    uint32_t lo = f32_to_bf16_bits(__fmul_rn(nf4[(byte >> 4) & 15u], scale));
    uint32_t hi = f32_to_bf16_bits(__fmul_rn(nf4[byte & 15u], scale));
    return lo | (hi << 16);
}

__device__ __forceinline__ uint4 dq_word(uint32_t w, const float* nf4, float scale) {
    return make_uint4(dq_pair(w & 0xFFu, nf4, scale), dq_pair((w >> 8) & 0xFFu, nf4, scale),
                      dq_pair((w >> 16) & 0xFFu, nf4, scale), dq_pair(w >> 24, nf4, scale));
}

template <bool kNested>
__global__ void __launch_bounds__(kThreads) nf4_dequant_kernel(Nf4Args a) {
    __shared__ float nf4[16];
    __shared__ float code8[kNested ? 256 : 1];
    if (threadIdx.x < 16) nf4[threadIdx.x] = kNf4[threadIdx.x];
    if (kNested) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x) code8[i] = a.nested_code[i];
    }
    __syncthreads();

    const int64_t groups = a.n / 32;
    const uint4* src = reinterpret_cast<const uint4*>(a.packed);
    uint4* dst = reinterpret_cast<uint4*>(a.out);
    for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups;
         g += int64_t(gridDim.x) * blockDim.x) {
        uint4 p = __ldcs(src + g);  // streamed once: keep it out of L2's way
        float scale = block_absmax<kNested>(a, code8, g * 32 / a.blocksize);
        dst[4 * g] = dq_word(p.x, nf4, scale);
        dst[4 * g + 1] = dq_word(p.y, nf4, scale);
        dst[4 * g + 2] = dq_word(p.z, nf4, scale);
        dst[4 * g + 3] = dq_word(p.w, nf4, scale);
    }
    if (blockIdx.x == 0) {
        for (int64_t i = groups * 32 + threadIdx.x; i < a.n; i += blockDim.x) {
            uint32_t byte = a.packed[i >> 1];
            uint32_t q = (i & 1) == 0 ? (byte >> 4) & 15u : byte & 15u;
            float scale = block_absmax<kNested>(a, code8, i / a.blocksize);
            a.out[i] = static_cast<uint16_t>(f32_to_bf16_bits(__fmul_rn(nf4[q], scale)));
        }
    }
}

}  // namespace

cudaError_t nf4_dequant_bf16(const Nf4Args& a, cudaStream_t stream) {
    if (a.n <= 0) return cudaSuccess;
    unsigned grid = grid_for(a.n / 32, kThreads);
    if (a.absmax_q) {
        nf4_dequant_kernel<true><<<grid, kThreads, 0, stream>>>(a);
    } else {
        nf4_dequant_kernel<false><<<grid, kThreads, 0, stream>>>(a);
    }
    return cudaGetLastError();
}

}  // namespace jlora
