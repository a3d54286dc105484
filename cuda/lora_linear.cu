// The elementwise helpers of the fused LoRA linear (jlora.backend.cuda.LoraLinearKernels; the
// GEMMs are cuBLASLt). Must match jlora.backend.cpu.CpuLinear#lora / #loraBackward within bf16
// bounds (LoraLinearKernelsTest) and jlora.backend.Dropout's mask exactly:
//   u = SplitMix64(seed, i) >>> 11 (53 bits), kept iff u · 2^-53 >= p, i.e. u >= ceil(p · 2^53),
//   a kept element is x · (1f / (1f - p)) in fp32, a dropped one x · 0.
// Layout: 2-D grid, blockIdx.y walks rows (grid-stride past 65535), threads walk columns, so
// no division per element and every access is coalesced along a row.
#include "lora_linear.cuh"
#include "bf16_bits.cuh"
#include "elem.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxRowBlocks = 65535;

__device__ __forceinline__ float mask_factor(const DropoutMask& m, int64_t r, int64_t c) {
    return dropout_factor(m, uint64_t(r * m.index_ld + c));
}

template <typename Src>
__global__ void __launch_bounds__(kThreads) cast_rows_kernel(const Src* __restrict__ src, int64_t src_ld,
                                                             uint16_t* __restrict__ dst, int64_t dst_ld, int64_t rows,
                                                             int64_t cols, float scale, DropoutMask mask) {
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols; c += int64_t(gridDim.x) * blockDim.x) {
            float v = ld(src, r * src_ld + c) * mask_factor(mask, r, c);
            st(dst, r * dst_ld + c, v * scale);
        }
    }
}

// Four columns per thread (16-byte f32 / 8-byte bf16 loads, 8-byte bf16 stores) when every row
// start is aligned for it: the x → [x | xa] and dOut → [g | gu] casts move T·in and T·out elements.
__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load4(const uint16_t* p) {
    uint2 v = *reinterpret_cast<const uint2*>(p);
    return make_float4(__uint_as_float(v.x << 16), __uint_as_float(v.x & 0xFFFF0000u), __uint_as_float(v.y << 16),
                       __uint_as_float(v.y & 0xFFFF0000u));
}

template <typename Src>
__global__ void __launch_bounds__(kThreads) cast_rows_vec4_kernel(const Src* __restrict__ src, int64_t src_ld,
                                                                  uint16_t* __restrict__ dst, int64_t dst_ld, int64_t rows,
                                                                  int64_t cols, float scale, DropoutMask mask) {
    const int64_t quads = cols / 4;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        for (int64_t q = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; q < quads; q += int64_t(gridDim.x) * blockDim.x) {
            const int64_t c = 4 * q;
            float4 v = load4(src + r * src_ld + c);
            v.x = v.x * mask_factor(mask, r, c) * scale;
            v.y = v.y * mask_factor(mask, r, c + 1) * scale;
            v.z = v.z * mask_factor(mask, r, c + 2) * scale;
            v.w = v.w * mask_factor(mask, r, c + 3) * scale;
            uint2 o = make_uint2(f32_to_bf16_bits(v.x) | (f32_to_bf16_bits(v.y) << 16),
                                 f32_to_bf16_bits(v.z) | (f32_to_bf16_bits(v.w) << 16));
            *reinterpret_cast<uint2*>(dst + r * dst_ld + c) = o;
        }
    }
}

template <typename T>
__global__ void __launch_bounds__(kThreads) dropout_add_kernel(T* __restrict__ dx, int64_t dx_ld,
                                                               const float* __restrict__ tmp, int64_t rows, int64_t cols,
                                                               DropoutMask mask) {
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols; c += int64_t(gridDim.x) * blockDim.x) {
            int64_t i = r * dx_ld + c;
            st(dx, i, ld(dx, i) + mask_factor(mask, r, c) * tmp[r * cols + c]);
        }
    }
}

template <typename T>
__global__ void __launch_bounds__(kThreads) bias_add_kernel(T* __restrict__ y, int64_t y_ld, const float* __restrict__ bias,
                                                            int64_t rows, int64_t cols) {
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols; c += int64_t(gridDim.x) * blockDim.x) {
            int64_t i = r * y_ld + c;
            st(y, i, ld(y, i) + bias[c]);
        }
    }
}

// bitsandbytes' NF4 code book (nf4_dequantization_lut), as jlora.quant.Nf4.CODE and cuda/nf4_dequant.cu.
__constant__ float kNf4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

constexpr int kNf4Threads = 128;

// One thread per 8 elements (4 packed bytes in, 16 bytes out): a warp reads 128 contiguous bytes
// and writes 512, both coalesced; blockIdx.y walks rows, so no division. The block scale is
// rebuilt as DoubleQuant.dequantize does (two roundings: __fmul_rn then __fadd_rn), each value is
// fl(NF4[q] · scale) rounded once to bf16 (RNE, f32_to_bf16_bits). Element 2i is the high nibble.
template <bool kNested>
__global__ void __launch_bounds__(kNf4Threads) nf4_rows_kernel(Nf4RowsArgs a) {
    __shared__ float nf4[16];
    __shared__ float code8[kNested ? 256 : 1];
    if (threadIdx.x < 16) nf4[threadIdx.x] = kNf4[threadIdx.x];
    if (kNested) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x) code8[i] = a.nested_code[i];
    }
    __syncthreads();
    const int64_t groups = a.row_len / 8;
    for (int64_t r = blockIdx.y; r < a.rows; r += gridDim.y) {
        for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups; g += int64_t(gridDim.x) * blockDim.x) {
            const int64_t e = r * a.row_len + g * 8;  // first element (even: 8 | row_len)
            const uint32_t w = *reinterpret_cast<const uint32_t*>(a.packed + e / 2);
            const int64_t b = e / a.blocksize;  // 8 elements never straddle a block (8 | blocksize)
            float scale;
            if (kNested) {
                scale = __fadd_rn(__fmul_rn(code8[a.absmax_q[b]], a.nested_absmax[b / a.nested_blocksize]), a.offset);
            } else {
                scale = a.absmax_f32[b];
            }
            uint32_t o[4];
#pragma unroll
            for (int k = 0; k < 4; k++) {
                const uint32_t byte = (w >> (8 * k)) & 0xFFu;
                const uint32_t lo = f32_to_bf16_bits(__fmul_rn(nf4[byte >> 4], scale));
                const uint32_t hi = f32_to_bf16_bits(__fmul_rn(nf4[byte & 15u], scale));
                o[k] = lo | (hi << 16);
            }
            *reinterpret_cast<uint4*>(a.out + r * a.row_stride + g * 8) = make_uint4(o[0], o[1], o[2], o[3]);
        }
    }
}

// Any row_len / row_stride / blocksize (tiny models: dims that are not multiples of 8): one
// element per thread, same arithmetic as nf4_rows_kernel.
template <bool kNested>
__global__ void __launch_bounds__(kNf4Threads) nf4_rows_scalar_kernel(Nf4RowsArgs a) {
    __shared__ float nf4[16];
    __shared__ float code8[kNested ? 256 : 1];
    if (threadIdx.x < 16) nf4[threadIdx.x] = kNf4[threadIdx.x];
    if (kNested) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x) code8[i] = a.nested_code[i];
    }
    __syncthreads();
    for (int64_t r = blockIdx.y; r < a.rows; r += gridDim.y) {
        for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < a.row_len; c += int64_t(gridDim.x) * blockDim.x) {
            const int64_t e = r * a.row_len + c;
            const uint32_t byte = a.packed[e >> 1];
            const uint32_t q = (e & 1) == 0 ? (byte >> 4) & 15u : byte & 15u;
            const int64_t b = e / a.blocksize;
            float scale;
            if (kNested) {
                scale = __fadd_rn(__fmul_rn(code8[a.absmax_q[b]], a.nested_absmax[b / a.nested_blocksize]), a.offset);
            } else {
                scale = a.absmax_f32[b];
            }
            a.out[r * a.row_stride + c] = static_cast<uint16_t>(f32_to_bf16_bits(__fmul_rn(nf4[q], scale)));
        }
    }
}

dim3 grid2d(int64_t rows, int64_t cols) {
    int64_t x = (cols + kThreads - 1) / kThreads;
    return dim3(static_cast<unsigned>(x < 1 ? 1 : x), static_cast<unsigned>(rows < kMaxRowBlocks ? rows : kMaxRowBlocks));
}

}  // namespace

cudaError_t lora_cast_rows(const void* src, bool src_bf16, int64_t src_ld, uint16_t* dst, int64_t dst_ld, int64_t rows,
                           int64_t cols, float scale, DropoutMask mask, cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    const uintptr_t src_align = src_bf16 ? 8 : 16;
    if (cols % 4 == 0 && src_ld % 4 == 0 && dst_ld % 4 == 0 && reinterpret_cast<uintptr_t>(src) % src_align == 0 &&
        reinterpret_cast<uintptr_t>(dst) % 8 == 0) {
        dim3 grid = grid2d(rows, cols / 4);
        if (src_bf16) {
            cast_rows_vec4_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const uint16_t*>(src), src_ld, dst, dst_ld, rows,
                                                                 cols, scale, mask);
        } else {
            cast_rows_vec4_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const float*>(src), src_ld, dst, dst_ld, rows, cols,
                                                                 scale, mask);
        }
        return cudaGetLastError();
    }
    dim3 grid = grid2d(rows, cols);
    if (src_bf16) {
        cast_rows_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const uint16_t*>(src), src_ld, dst, dst_ld, rows, cols,
                                                        scale, mask);
    } else {
        cast_rows_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const float*>(src), src_ld, dst, dst_ld, rows, cols,
                                                        scale, mask);
    }
    return cudaGetLastError();
}

cudaError_t lora_dropout_add(void* dx, bool dx_bf16, int64_t dx_ld, const float* tmp, int64_t rows, int64_t cols,
                             DropoutMask mask, cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    dim3 grid = grid2d(rows, cols);
    if (dx_bf16) {
        dropout_add_kernel<<<grid, kThreads, 0, stream>>>(static_cast<uint16_t*>(dx), dx_ld, tmp, rows, cols, mask);
    } else {
        dropout_add_kernel<<<grid, kThreads, 0, stream>>>(static_cast<float*>(dx), dx_ld, tmp, rows, cols, mask);
    }
    return cudaGetLastError();
}

cudaError_t lora_nf4_dequant_rows(const Nf4RowsArgs& a, cudaStream_t stream) {
    if (a.rows <= 0 || a.row_len <= 0) return cudaSuccess;
    const bool vec = a.row_len % 8 == 0 && a.row_stride % 8 == 0 && a.blocksize % 8 == 0 &&
                     (reinterpret_cast<uintptr_t>(a.out) & 15u) == 0 && (reinterpret_cast<uintptr_t>(a.packed) & 3u) == 0;
    if (!vec) {
        int64_t xs = (a.row_len + kNf4Threads - 1) / kNf4Threads;
        dim3 grid(static_cast<unsigned>(xs), static_cast<unsigned>(a.rows < kMaxRowBlocks ? a.rows : kMaxRowBlocks));
        if (a.absmax_q) {
            nf4_rows_scalar_kernel<true><<<grid, kNf4Threads, 0, stream>>>(a);
        } else {
            nf4_rows_scalar_kernel<false><<<grid, kNf4Threads, 0, stream>>>(a);
        }
        return cudaGetLastError();
    }
    int64_t x = (a.row_len / 8 + kNf4Threads - 1) / kNf4Threads;
    dim3 grid(static_cast<unsigned>(x), static_cast<unsigned>(a.rows < kMaxRowBlocks ? a.rows : kMaxRowBlocks));
    if (a.absmax_q) {
        nf4_rows_kernel<true><<<grid, kNf4Threads, 0, stream>>>(a);
    } else {
        nf4_rows_kernel<false><<<grid, kNf4Threads, 0, stream>>>(a);
    }
    return cudaGetLastError();
}

cudaError_t bias_add(void* y, bool y_bf16, int64_t ld, const float* bias, int64_t rows, int64_t cols, cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    dim3 grid = grid2d(rows, cols);
    if (y_bf16) {
        bias_add_kernel<<<grid, kThreads, 0, stream>>>(static_cast<uint16_t*>(y), ld, bias, rows, cols);
    } else {
        bias_add_kernel<<<grid, kThreads, 0, stream>>>(static_cast<float*>(y), ld, bias, rows, cols);
    }
    return cudaGetLastError();
}

}  // namespace jlora
