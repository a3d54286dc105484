// The per-chunk steps of the chunked cross-entropy (the math of
// jlora.backend.cpu.CpuCrossEntropy): the CUDA backend forms each vocabulary chunk's logits
// [rows, cols] with a GEMM, then
//   ce_chunk_update  online logsumexp per row: m' = max(m, max_c l), s ← s·e^{m−m'} + Σ e^{l−m'},
//                    and the target's logit when it falls in the chunk;
//   ce_finish        lse = m + log s (0 for ignored rows, as the CPU leaves them), and the sum
//                    of lse − logit[target] over counted rows in fp64 with their count, one
//                    block in a fixed order (deterministic);
//   ce_chunk_grad    logits → (softmax − onehot) · scale in place; ignored rows → 0.
// Targets equal to −100 are ignored (PyTorch's ignore_index).
#include "ce_chunk.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256, kIgnore = -100;

__device__ __forceinline__ float block_max_f(float v) {
    __shared__ float warp_max[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) warp_max[warp] = v;
    __syncthreads();
    float s = lane < warps ? warp_max[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) s = fmaxf(s, __shfl_xor_sync(0xFFFFFFFFu, s, o));
    return s;
}

__global__ void init_kernel(int64_t rows, float* m, float* s, float* tgt) {
    for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
        m[r] = -INFINITY;
        s[r] = 0.0f;
        tgt[r] = 0.0f;
    }
}

__global__ void __launch_bounds__(kThreads)
update_kernel(const float* __restrict__ logits, int64_t cols, int64_t ld, int64_t col0, const int32_t* __restrict__ targets,
              float* m, float* s, float* tgt) {
    const int64_t r = blockIdx.x;
    const int y = targets[r];
    if (y == kIgnore) return;  // the whole block leaves together
    const float* row = logits + r * ld;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) mx = fmaxf(mx, row[c]);
    const float m_old = m[r];
    const float m_new = fmaxf(m_old, block_max_f(mx));
    float part = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) part += expf(row[c] - m_new);
    const float sum = block_sum(part);
    if (threadIdx.x == 0) {
        s[r] = s[r] * expf(m_old - m_new) + sum;
        m[r] = m_new;
        const int64_t yc = int64_t(y) - col0;
        if (yc >= 0 && yc < cols) tgt[r] = row[yc];
    }
}

__global__ void __launch_bounds__(1024)
finish_kernel(const float* __restrict__ m, const float* __restrict__ s, const float* __restrict__ tgt,
              const int32_t* __restrict__ targets, int64_t rows, float* lse, double* sum_count) {
    __shared__ double sums[1024];
    __shared__ double counts[1024];
    double acc = 0.0, cnt = 0.0;
    for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
        if (targets[r] == kIgnore) {
            lse[r] = 0.0f;
            continue;
        }
        const float l = m[r] + logf(s[r]);
        lse[r] = l;
        acc += static_cast<double>(l) - static_cast<double>(tgt[r]);
        cnt += 1.0;
    }
    sums[threadIdx.x] = acc;
    counts[threadIdx.x] = cnt;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if (threadIdx.x < w) {
            sums[threadIdx.x] += sums[threadIdx.x + w];
            counts[threadIdx.x] += counts[threadIdx.x + w];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        sum_count[0] = sums[0];
        sum_count[1] = counts[0];
    }
}

__global__ void grad_kernel(float* logits, int64_t rows, int64_t cols, int64_t ld, int64_t col0,
                            const int32_t* __restrict__ targets, const float* __restrict__ lse, float scale) {
    const int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t r = i / cols, c = i % cols;
        float* p = logits + r * ld + c;
        const int y = targets[r];
        if (y == kIgnore) {
            *p = 0.0f;
            continue;
        }
        float g = expf(*p - lse[r]) * scale;
        if (int64_t(y) - col0 == c) g -= scale;
        *p = g;
    }
}

}  // namespace

cudaError_t ce_init(int64_t rows, float* m, float* s, float* tgt, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    init_kernel<<<grid_for(rows, kThreads), kThreads, 0, stream>>>(rows, m, s, tgt);
    return cudaGetLastError();
}

cudaError_t ce_chunk_update(const float* logits, int64_t rows, int64_t cols, int64_t ld, int64_t col0,
                            const int32_t* targets, float* m, float* s, float* tgt, cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    update_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, cols, ld, col0, targets, m, s, tgt);
    return cudaGetLastError();
}

cudaError_t ce_finish(const float* m, const float* s, const float* tgt, const int32_t* targets, int64_t rows,
                      float* lse, double* sum_count, cudaStream_t stream) {
    finish_kernel<<<1, 1024, 0, stream>>>(m, s, tgt, targets, rows, lse, sum_count);
    return cudaGetLastError();
}

cudaError_t ce_chunk_grad(float* logits, int64_t rows, int64_t cols, int64_t ld, int64_t col0, const int32_t* targets,
                          const float* lse, float scale, cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    grad_kernel<<<grid_for(rows * cols, kThreads), kThreads, 0, stream>>>(logits, rows, cols, ld, col0, targets, lse, scale);
    return cudaGetLastError();
}

}  // namespace jlora
