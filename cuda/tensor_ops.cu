// Small f32 element-wise ops of the CUDA backend: the residual add, bias rows and their
// gradient (column sums), and PEFT's LoRA dropout.
//
// Dropout must draw exactly jlora.backend.Dropout's mask so the CPU and GPU train the same
// model: element i is kept when u(seed, i) ≥ p, u the top 53 bits of SplitMix64 of
// seed + (i + 1)·0x9E3779B97F4A7C15 as a double in [0, 1), and a kept element is scaled by
// 1/(1 − p) formed in fp32. Java's long arithmetic wraps as uint64 does here.
// Column sums run one thread per column over rows in order: deterministic, the CPU's order.
#include "tensor_ops.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float dropout_factor(int64_t seed, int64_t i, float p) {
    uint64_t z = static_cast<uint64_t>(seed) + static_cast<uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    const double u = static_cast<double>(z >> 11) * 0x1.0p-53;
    return u >= static_cast<double>(p) ? 1.0f / (1.0f - p) : 0.0f;
}

__global__ void add_kernel(const float* __restrict__ a, const float* __restrict__ b, int64_t n, float* out) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        out[i] = a[i] + b[i];
    }
}

__global__ void bias_kernel(float* out, const float* __restrict__ bias, int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        out[i] += bias[i % cols];
    }
}

__global__ void colsum_kernel(const float* __restrict__ src, int64_t rows, int64_t cols, float* dst) {
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols; c += int64_t(gridDim.x) * blockDim.x) {
        float s = 0.0f;
        for (int64_t r = 0; r < rows; r++) s += src[r * cols + c];
        dst[c] += s;
    }
}

__global__ void dropout_apply_kernel(const float* __restrict__ x, int64_t n, float p, int64_t seed, float* out) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        out[i] = x[i] * dropout_factor(seed, i, p);
    }
}

__global__ void dropout_add_kernel(const float* __restrict__ x, int64_t n, float p, int64_t seed, float* out) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        out[i] = out[i] + dropout_factor(seed, i, p) * x[i];
    }
}

}  // namespace

cudaError_t add_f32(const float* a, const float* b, int64_t n, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    add_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(a, b, n, out);
    return cudaGetLastError();
}

cudaError_t add_bias_rows(float* out, const float* bias, int64_t rows, int64_t cols, cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    bias_kernel<<<grid_for(rows * cols, kThreads), kThreads, 0, stream>>>(out, bias, rows, cols);
    return cudaGetLastError();
}

cudaError_t column_sums_add(const float* src, int64_t rows, int64_t cols, float* dst, cudaStream_t stream) {
    if (cols <= 0) return cudaSuccess;
    colsum_kernel<<<grid_for(cols, kThreads), kThreads, 0, stream>>>(src, rows, cols, dst);
    return cudaGetLastError();
}

cudaError_t dropout_apply(const float* x, int64_t n, float p, int64_t seed, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    dropout_apply_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, n, p, seed, out);
    return cudaGetLastError();
}

cudaError_t dropout_add(const float* x, int64_t n, float p, int64_t seed, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    dropout_add_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, n, p, seed, out);
    return cudaGetLastError();
}

}  // namespace jlora
