// Fused AdamW step and the global gradient norm with its clip coefficient, fp32 state.
//
// adamw_step follows torch.optim.AdamW's single-tensor update (_single_tensor_adamw) in its
// order of operations: p *= 1 − lr·wd; m = lerp(m, g, 1 − β1) = m + (1 − β1)(g − m);
// v = β2·v + (1 − β2)·g²; p −= step_size · m / (sqrt(v) / bc2_sqrt + eps). AdamWKernelsTest
// checks it against an fp64 evaluation of that formula (|Δ| ≤ 1e-5 · (|want| + 1e-3)).
//
// grad_norm is deterministic: pass 1 has a fixed grid of kGradNormBlocks blocks, each
// summing squares over its grid-stride share and writing one partial (block_sum tree);
// pass 2, one block, sums the partials in fixed order and writes the norm and the clip
// coefficient next to each other, so the AdamW launch reads the coefficient on the device
// without a host round trip.
#include "adamw.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ void adamw_one(float& p, float g, float& m, float& v, const AdamWScalars& s) {
    p = p * s.decay_factor;
    m = fmaf(1.0f - s.beta1, g - m, m);
    v = fmaf(1.0f - s.beta2, g * g, s.beta2 * v);
    const float denom = sqrtf(v) / s.bc2_sqrt + s.eps;
    p = p - s.step_size * (m / denom);
}

__global__ void __launch_bounds__(kThreads)
adamw_kernel(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m, float* __restrict__ v,
             int64_t n, bool vec, AdamWScalars s, const float* __restrict__ grad_scale) {
    const float gs = grad_scale ? *grad_scale : 1.0f;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    int64_t done = 0;
    if (vec) {
        const int64_t quads = n / 4;
        for (int64_t q = first; q < quads; q += stride) {
            float4 p4 = reinterpret_cast<float4*>(param)[q];
            const float4 g4 = reinterpret_cast<const float4*>(grad)[q];
            float4 m4 = reinterpret_cast<float4*>(m)[q];
            float4 v4 = reinterpret_cast<float4*>(v)[q];
            adamw_one(p4.x, g4.x * gs, m4.x, v4.x, s);
            adamw_one(p4.y, g4.y * gs, m4.y, v4.y, s);
            adamw_one(p4.z, g4.z * gs, m4.z, v4.z, s);
            adamw_one(p4.w, g4.w * gs, m4.w, v4.w, s);
            reinterpret_cast<float4*>(param)[q] = p4;
            reinterpret_cast<float4*>(m)[q] = m4;
            reinterpret_cast<float4*>(v)[q] = v4;
        }
        done = quads * 4;
    }
    for (int64_t i = done + first; i < n; i += stride) adamw_one(param[i], grad[i] * gs, m[i], v[i], s);
}

__global__ void __launch_bounds__(kThreads)
sumsq_partial_kernel(const float* __restrict__ grad, int64_t n, float* __restrict__ partial) {
    float s = 0.0f;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        s = fmaf(grad[i], grad[i], s);
    }
    s = block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void __launch_bounds__(kGradNormBlocks)
norm_finish_kernel(const float* __restrict__ partial, float max_norm, float* __restrict__ out) {
    const float total = block_sum(partial[threadIdx.x]);
    if (threadIdx.x == 0) {
        const float norm = sqrtf(total);
        const float coef = max_norm / (norm + 1e-6f);
        out[0] = norm;
        out[1] = coef < 1.0f ? coef : 1.0f;
    }
}

}  // namespace

cudaError_t adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWScalars& s,
                       const float* grad_scale, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    const bool vec = is_aligned16(param) && is_aligned16(grad) && is_aligned16(m) && is_aligned16(v);
    adamw_kernel<<<grid_for(vec ? n / 4 : n, kThreads), kThreads, 0, stream>>>(param, grad, m, v, n, vec, s, grad_scale);
    return cudaGetLastError();
}

cudaError_t grad_norm(const float* grad, int64_t n, float max_norm, float* workspace, float* out,
                      cudaStream_t stream) {
    sumsq_partial_kernel<<<kGradNormBlocks, kThreads, 0, stream>>>(grad, n < 0 ? 0 : n, workspace);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
    norm_finish_kernel<<<1, kGradNormBlocks, 0, stream>>>(workspace, max_norm, out);
    return cudaGetLastError();
}

}  // namespace jlora
