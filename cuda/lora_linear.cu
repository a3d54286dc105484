// The elementwise helpers of the fused LoRA linear (jlora.backend.cuda.LoraLinearKernels; the
// GEMMs are cuBLASLt). Must match jlora.backend.cpu.CpuLinear#lora / #loraBackward within bf16
// bounds (LoraLinearKernelsTest) and jlora.backend.Dropout's mask exactly:
//   u = SplitMix64(seed, i) >>> 11 (53 bits), kept iff u · 2^-53 >= p, i.e. u >= ceil(p · 2^53),
//   a kept element is x · (1f / (1f - p)) in fp32, a dropped one x · 0.
// Layout: 2-D grid, blockIdx.y walks rows (grid-stride past 65535), threads walk columns, so
// no division per element and every access is coalesced along a row.
#include "lora_linear.cuh"
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

dim3 grid2d(int64_t rows, int64_t cols) {
    int64_t x = (cols + kThreads - 1) / kThreads;
    return dim3(static_cast<unsigned>(x < 1 ? 1 : x), static_cast<unsigned>(rows < kMaxRowBlocks ? rows : kMaxRowBlocks));
}

}  // namespace

cudaError_t lora_cast_rows(const void* src, bool src_bf16, int64_t src_ld, uint16_t* dst, int64_t dst_ld, int64_t rows,
                           int64_t cols, float scale, DropoutMask mask, cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
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
