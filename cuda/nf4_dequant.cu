// NF4 (+ double quant) → bf16 dequantization into the scratch buffer the LoRA GEMM reads.
//
// Must match jlora.quant.Nf4Tensor#dequantize(BF16) bit for bit (Nf4DequantKernelsTest compares
// every element exactly, for every variant): with double quant the block scale is first rebuilt
// as DoubleQuant.dequantize does, absmax = fl(fl(code8[q] * nested[b / 256]) + offset) (two
// roundings, so __fmul_rn / __fadd_rn: an FMA would round once and differ), then each element
// is fl(NF4[nibble] * absmax) rounded once to bf16, round to nearest even as HalfFloats. Nibble
// order as bitsandbytes: element 2i in the high nibble of byte i.
//
// Memory-bound: per element 0.5 byte read + 2 bytes written (+ 1/blocksize absmax code), so the
// floor is the device copy bandwidth over 2.52 bytes per element; bench/results/nf4-dequant.md
// keeps the variants' predictions and times.
//
// Variants (all bit-identical; the benchmark times each, production uses kNf4DefaultVariant):
//   0  v1: one thread per 16 packed bytes (one 16-byte load) writing 64 contiguous bytes, so
//      each 16-byte store instruction of a warp is strided by 64 bytes (half-filled sectors);
//      int64 division for the block index per 32 elements; software RNE rounding.
//   1  warp tiles: a warp takes 128 packed 32-bit words (1024 elements); lane l handles words
//      j·32 + l (j < 4), so every load (128 B) and every 16-byte store (512 B) of the warp is
//      contiguous; block index by shift (blocksize a power of two); each tile's block scales are
//      computed once by one lane per block and handed out with __shfl_sync.
//   2  as 1, with the hardware RNE conversion (cvt.rn.bf16x2.f32: two products per instruction)
//      when the block scale is finite; a non-finite scale takes the software path, which keeps
//      HalfFloats' NaN payload rule (the hardware would give the canonical NaN).
//      Production (H100, 2026-11-24 23:15: 0.249 ms for 2^28 elements, 0.94 of the device copy).
//   3  as 2, with a persistent grid (SMs × resident blocks) whose warps stride over pairs of
//      tiles: 8 independent 4-byte loads per lane in flight before the first use. Measured
//      slower (0.264 ms): 40 registers leave 48 resident warps per SM instead of 64.
//   4  as 2 with two tiles per warp (covering grid, 40 registers).
//   5  as 2 with streaming stores (st.global.cs, evict-first): the output bypasses L2 residency.
//   6  as 2 with the stores staged in shared memory and written by the bulk copy engine (sm_90).
#include "nf4_dequant.cuh"
#include "bf16_bits.cuh"
#include "launch.cuh"

#include <cuda_bf16.h>

namespace jlora {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;
constexpr int kTileWords = 128;  // 32-bit packed words per warp tile: 4 per lane
constexpr int kWordElems = 8;    // NF4 elements per 32-bit packed word

// bitsandbytes nf4_dequantization_lut, as jlora.quant.Nf4.CODE.
__constant__ float kNf4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

template <bool kNested>
__device__ __forceinline__ float block_absmax(const Nf4Args& a, const float* code8, int64_t block, int nested_shift) {
    if (!kNested) return a.absmax_f32[block];
    float c = code8[a.absmax_q[block]];
    return __fadd_rn(__fmul_rn(c, a.nested_absmax[block >> nested_shift]), a.offset);
}

// Loads the two code books into shared memory (the 16 NF4 values sit in 16 distinct banks, so
// a warp's lookups never conflict: equal nibbles broadcast).
template <bool kNested>
__device__ __forceinline__ void load_tables(const Nf4Args& a, float* nf4, float* code8) {
    if (threadIdx.x < 16) nf4[threadIdx.x] = kNf4[threadIdx.x];
    if (kNested) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x) code8[i] = a.nested_code[i];
    }
    __syncthreads();
}

__device__ __forceinline__ uint32_t dq_pair_soft(uint32_t byte, const float* nf4, float scale) {
    // high nibble = even element = low half of the packed bf16 pair (little endian)
    uint32_t lo = f32_to_bf16_bits(__fmul_rn(nf4[(byte >> 4) & 15u], scale));
    uint32_t hi = f32_to_bf16_bits(__fmul_rn(nf4[byte & 15u], scale));
    return lo | (hi << 16);
}

__device__ __forceinline__ uint32_t dq_pair_hw(uint32_t byte, const float* nf4, float scale) {
    __nv_bfloat162 h = __floats2bfloat162_rn(__fmul_rn(nf4[(byte >> 4) & 15u], scale),
                                             __fmul_rn(nf4[byte & 15u], scale));
    return *reinterpret_cast<uint32_t*>(&h);  // .x (the even element) in the low half
}

template <bool kHw>
__device__ __forceinline__ uint4 dq_word(uint32_t w, const float* nf4, float scale) {
    if (kHw && isfinite(scale)) {
        return make_uint4(dq_pair_hw(w & 0xFFu, nf4, scale), dq_pair_hw((w >> 8) & 0xFFu, nf4, scale),
                          dq_pair_hw((w >> 16) & 0xFFu, nf4, scale), dq_pair_hw(w >> 24, nf4, scale));
    }
    return make_uint4(dq_pair_soft(w & 0xFFu, nf4, scale), dq_pair_soft((w >> 8) & 0xFFu, nf4, scale),
                      dq_pair_soft((w >> 16) & 0xFFu, nf4, scale), dq_pair_soft(w >> 24, nf4, scale));
}

// Elements [from, n) one by one (the part past the last whole tile), by the threads of block 0.
template <bool kNested>
__device__ void dequant_tail(const Nf4Args& a, const float* nf4, const float* code8, int64_t from, int nested_shift) {
    for (int64_t i = from + threadIdx.x; i < a.n; i += blockDim.x) {
        uint32_t byte = a.packed[i >> 1];
        uint32_t q = (i & 1) == 0 ? (byte >> 4) & 15u : byte & 15u;
        float scale = block_absmax<kNested>(a, code8, i / a.blocksize, nested_shift);
        a.out[i] = static_cast<uint16_t>(f32_to_bf16_bits(__fmul_rn(nf4[q], scale)));
    }
}

// ---- variant 0 (v1, kept for the benchmark's before/after) ----

template <bool kNested>
__global__ void __launch_bounds__(kThreads) nf4_v1_kernel(Nf4Args a, int nested_shift) {
    __shared__ float nf4[16];
    __shared__ float code8[kNested ? 256 : 1];
    load_tables<kNested>(a, nf4, code8);
    const int64_t groups = a.n / 32;
    const uint4* src = reinterpret_cast<const uint4*>(a.packed);
    uint4* dst = reinterpret_cast<uint4*>(a.out);
    for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups;
         g += int64_t(gridDim.x) * blockDim.x) {
        uint4 p = __ldcs(src + g);
        float scale = block_absmax<kNested>(a, code8, g * 32 / a.blocksize, nested_shift);
        dst[4 * g] = dq_word<false>(p.x, nf4, scale);
        dst[4 * g + 1] = dq_word<false>(p.y, nf4, scale);
        dst[4 * g + 2] = dq_word<false>(p.z, nf4, scale);
        dst[4 * g + 3] = dq_word<false>(p.w, nf4, scale);
    }
    if (blockIdx.x == 0) dequant_tail<kNested>(a, nf4, code8, groups * 32, nested_shift);
}

// ---- variants 1..5: warp tiles ----

// kUnroll tiles (kUnroll · 128 words) per warp iteration, contiguous. word_shift =
// log2(blocksize / 8): the absmax block of packed word o is o >> word_shift. A tile of 128 words
// touches at most 32 blocks (blocksize >= 32), one per lane.
template <bool kNested, bool kHw, int kUnroll, bool kStreamStore = false>
__global__ void __launch_bounds__(kThreads) nf4_tile_kernel(Nf4Args a, int word_shift, int nested_shift, int64_t iters) {
    __shared__ float nf4[16];
    __shared__ float code8[kNested ? 256 : 1];
    load_tables<kNested>(a, nf4, code8);
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
    const uint32_t* src = reinterpret_cast<const uint32_t*>(a.packed);
    uint4* dst = reinterpret_cast<uint4*>(a.out);
    for (int64_t it = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5); it < iters; it += warps) {
        const int64_t base = it * (kUnroll * kTileWords);
        uint32_t w[kUnroll][4];
#pragma unroll
        for (int u = 0; u < kUnroll; u++) {
#pragma unroll
            for (int j = 0; j < 4; j++) w[u][j] = __ldcs(src + base + u * kTileWords + j * 32 + lane);
        }
        float mine[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; u++) {
            const int64_t first = (base + u * kTileWords) >> word_shift;
            const int64_t last = (base + u * kTileWords + kTileWords - 1) >> word_shift;
            mine[u] = first + lane <= last ? block_absmax<kNested>(a, code8, first + lane, nested_shift) : 0.0f;
        }
#pragma unroll
        for (int u = 0; u < kUnroll; u++) {
            const int64_t tile = base + u * kTileWords;
            const int64_t first = tile >> word_shift;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int64_t o = tile + j * 32 + lane;
                const float scale = __shfl_sync(0xFFFFFFFFu, mine[u], int((o >> word_shift) - first));
                const uint4 out = dq_word<kHw>(w[u][j], nf4, scale);
                if (kStreamStore) {
                    __stcs(dst + o, out);
                } else {
                    dst[o] = out;
                }
            }
        }
    }
    if (blockIdx.x == 0) dequant_tail<kNested>(a, nf4, code8, iters * kUnroll * kTileWords * kWordElems, nested_shift);
}

// Variant 6: variant 2's work, but each warp writes its tile's 2 KiB of bf16 into its own
// shared-memory stage (16-byte stores, consecutive lanes in consecutive slots: no bank conflicts)
// and one lane hands the whole stage to the bulk copy engine (cp.async.bulk shared → global,
// sm_90): the store side leaves the LSU/L1 path. Before a stage is rewritten, the previous bulk
// copy out of it must have finished reading (wait_group.read 0); generic-proxy writes that the
// async proxy reads next need fence.proxy.async.shared::cta in each writing thread. sm_80 keeps
// plain stores.
template <bool kNested, int kBulkUnroll>
__global__ void __launch_bounds__(kThreads) nf4_bulk_kernel(Nf4Args a, int word_shift, int nested_shift, int64_t iters) {
    __shared__ float nf4[16];
    __shared__ float code8[kNested ? 256 : 1];
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    constexpr int kStageWords = kBulkUnroll * kTileWords;  // uint4 slots per warp stage
    __shared__ __align__(128) uint4 stage[kWarpsPerBlock][kStageWords];
    uint4* my = stage[threadIdx.x >> 5];
#endif
    load_tables<kNested>(a, nf4, code8);
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
    const uint32_t* src = reinterpret_cast<const uint32_t*>(a.packed);
    uint4* dst = reinterpret_cast<uint4*>(a.out);
    for (int64_t it = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5); it < iters; it += warps) {
        const int64_t base = it * (kBulkUnroll * kTileWords);
        uint32_t w[kBulkUnroll][4];
#pragma unroll
        for (int u = 0; u < kBulkUnroll; u++) {
#pragma unroll
            for (int j = 0; j < 4; j++) w[u][j] = __ldcs(src + base + u * kTileWords + j * 32 + lane);
        }
        float mine[kBulkUnroll];
#pragma unroll
        for (int u = 0; u < kBulkUnroll; u++) {
            const int64_t first = (base + u * kTileWords) >> word_shift;
            const int64_t last = (base + u * kTileWords + kTileWords - 1) >> word_shift;
            mine[u] = first + lane <= last ? block_absmax<kNested>(a, code8, first + lane, nested_shift) : 0.0f;
        }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
        if (lane == 0) asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
        __syncwarp();
#endif
#pragma unroll
        for (int u = 0; u < kBulkUnroll; u++) {
            const int64_t first = (base + u * kTileWords) >> word_shift;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int64_t o = base + u * kTileWords + j * 32 + lane;
                const float scale = __shfl_sync(0xFFFFFFFFu, mine[u], int((o >> word_shift) - first));
                const uint4 out = dq_word<true>(w[u][j], nf4, scale);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
                my[u * kTileWords + j * 32 + lane] = out;
#else
                dst[o] = out;
#endif
            }
        }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
        __syncwarp();
        if (lane == 0) {
            const uint32_t from = static_cast<uint32_t>(__cvta_generic_to_shared(my));
            asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;\n\tcp.async.bulk.commit_group;"
                         :: "l"(dst + base), "r"(from), "n"(kBulkUnroll * kTileWords * 16) : "memory");
        }
#endif
    }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    // the stage must stay valid until the engine has read it
    if (lane == 0) asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
#endif
    if (blockIdx.x == 0) dequant_tail<kNested>(a, nf4, code8, iters * kBulkUnroll * kTileWords * kWordElems, nested_shift);
}

int log2_exact(int64_t v) {
    int s = 0;
    while ((int64_t(1) << s) < v) s++;
    return s;
}

// A persistent grid: multiprocessors × resident blocks of `kernel` (queried once per device and
// kernel; a benign race), capped by the work; its warps stride over kUnroll-tile iterations.
template <auto kernel, int kUnroll>
cudaError_t launch_persistent(const Nf4Args& a, int word_shift, int nested_shift, cudaStream_t stream) {
    static unsigned resident[64];
    const int64_t iters = a.n / (kUnroll * kTileWords * kWordElems);
    int device = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err != cudaSuccess) return err;
    unsigned full = device < 64 ? resident[device] : 0;
    if (full == 0) {
        int sms = 0, per_sm = 0;
        err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
        if (err != cudaSuccess) return err;
        err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0);
        if (err != cudaSuccess) return err;
        full = unsigned(sms) * unsigned(per_sm > 0 ? per_sm : 1);
        if (device < 64) resident[device] = full;
    }
    const unsigned need = grid_for(iters, kWarpsPerBlock);
    kernel<<<need < full ? need : full, kThreads, 0, stream>>>(a, word_shift, nested_shift, iters);
    return cudaGetLastError();
}

// A grid that covers the tensor: one kUnroll-tile iteration per warp (grid-stride past 65535 blocks).
template <auto kernel, int kUnroll>
cudaError_t launch_full(const Nf4Args& a, int word_shift, int nested_shift, cudaStream_t stream) {
    const int64_t iters = a.n / (kUnroll * kTileWords * kWordElems);
    kernel<<<grid_for(iters, kWarpsPerBlock), kThreads, 0, stream>>>(a, word_shift, nested_shift, iters);
    return cudaGetLastError();
}

template <bool kNested>
cudaError_t launch(const Nf4Args& a, int variant, cudaStream_t stream) {
    const int nested_shift = kNested ? log2_exact(a.nested_blocksize) : 0;
    if (variant == 0) {
        nf4_v1_kernel<kNested><<<grid_for(a.n / 32, kThreads), kThreads, 0, stream>>>(a, nested_shift);
        return cudaGetLastError();
    }
    const int word_shift = log2_exact(a.blocksize / kWordElems);
    switch (variant) {
        case 1: return launch_full<nf4_tile_kernel<kNested, false, 1>, 1>(a, word_shift, nested_shift, stream);
        case 2: return launch_full<nf4_tile_kernel<kNested, true, 1>, 1>(a, word_shift, nested_shift, stream);
        case 3: return launch_persistent<nf4_tile_kernel<kNested, true, 2>, 2>(a, word_shift, nested_shift, stream);
        case 4: return launch_full<nf4_tile_kernel<kNested, true, 2>, 2>(a, word_shift, nested_shift, stream);
        case 5: return launch_full<nf4_tile_kernel<kNested, true, 1, true>, 1>(a, word_shift, nested_shift, stream);
        default: return launch_full<nf4_bulk_kernel<kNested, 1>, 1>(a, word_shift, nested_shift, stream);
    }
}

}  // namespace

cudaError_t nf4_dequant_bf16(const Nf4Args& a, int variant, cudaStream_t stream) {
    if (a.n <= 0) return cudaSuccess;
    return a.absmax_q ? launch<true>(a, variant, stream) : launch<false>(a, variant, stream);
}

}  // namespace jlora
