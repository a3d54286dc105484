// RMSNorm forward / backward over f32 rows [rows, dim] with an f32 weight [dim].
//
// Matches jlora.backend.cpu.CpuRmsNorm (RmsNormKernelsTest: fp32, |Δ| ≤ 1e-5 · (|want| + 1)):
// r = 1 / sqrt(Σx²/D + eps) (correctly rounded sqrt and division, as the CPU's double sqrt
// rounded), y = x · r · w; backward dx = r·g·w − x · r³/D · Σ g·w·x. Sums are fp32 in a
// different order than the CPU's vector lanes, hence a tolerance rather than bits.
//
// One block per row; the row sums go through block_sum (fixed tree, deterministic).
// dWeight is two passes without float atomics: pass 1 writes per-slice partial sums over
// kRmsRowsPerSlice rows into the workspace (one thread per column, coalesced), pass 2 adds
// the slices in order into dWeight. The same inputs give the same bits on every run.
#include "rms_norm.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
rms_forward_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps, int64_t dim,
                   float* __restrict__ y, float* __restrict__ rstd) {
    const int64_t o = int64_t(blockIdx.x) * dim;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss = fmaf(x[o + i], x[o + i], ss);
    ss = block_sum(ss);
    const float r = 1.0f / sqrtf(ss / float(dim) + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) y[o + i] = __fmul_rn(__fmul_rn(x[o + i], r), w[i]);
}

__global__ void __launch_bounds__(kThreads)
rms_backward_dx_kernel(const float* __restrict__ g, const float* __restrict__ x, const float* __restrict__ w,
                       const float* __restrict__ rstd, int64_t dim, float* __restrict__ dx) {
    const int64_t o = int64_t(blockIdx.x) * dim;
    float dot = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dot = fmaf(g[o + i] * w[i], x[o + i], dot);
    dot = block_sum(dot);
    const float r = rstd[blockIdx.x];
    const float c = r * r * r * dot / float(dim);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dx[o + i] = r * g[o + i] * w[i] - c * x[o + i];
}

// grid (ceil(dim / kThreads), slices): partial[slice][i] = Σ over the slice's rows of g·x·r.
__global__ void __launch_bounds__(kThreads)
rms_dweight_partial_kernel(const float* __restrict__ g, const float* __restrict__ x, const float* __restrict__ rstd,
                           int64_t rows, int64_t dim, float* __restrict__ partial) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= dim) return;
    const int64_t t0 = blockIdx.y * kRmsRowsPerSlice;
    const int64_t t1 = t0 + kRmsRowsPerSlice < rows ? t0 + kRmsRowsPerSlice : rows;
    float s = 0.0f;
    for (int64_t t = t0; t < t1; t++) s = fmaf(g[t * dim + i] * x[t * dim + i], rstd[t], s);
    partial[blockIdx.y * dim + i] = s;
}

__global__ void __launch_bounds__(kThreads)
rms_dweight_sum_kernel(const float* __restrict__ partial, int64_t slices, int64_t dim, float* __restrict__ dw) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= dim) return;
    float s = 0.0f;
    for (int64_t k = 0; k < slices; k++) s += partial[k * dim + i];
    dw[i] += s;
}

}  // namespace

cudaError_t rms_norm_forward(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                             float* out, float* rstd, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    rms_forward_kernel<<<unsigned(rows), kThreads, 0, stream>>>(x, weight, eps, dim, out, rstd);
    return cudaGetLastError();
}

cudaError_t rms_norm_backward(const float* dout, const float* x, const float* weight, const float* rstd,
                              int64_t rows, int64_t dim, float* dx, float* dweight, float* workspace,
                              cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    rms_backward_dx_kernel<<<unsigned(rows), kThreads, 0, stream>>>(dout, x, weight, rstd, dim, dx);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess || !dweight) return err;
    const int64_t slices = (rows + kRmsRowsPerSlice - 1) / kRmsRowsPerSlice;
    const unsigned cols = unsigned((dim + kThreads - 1) / kThreads);
    rms_dweight_partial_kernel<<<dim3(cols, unsigned(slices)), kThreads, 0, stream>>>(dout, x, rstd, rows, dim, workspace);
    if ((err = cudaGetLastError()) != cudaSuccess) return err;
    rms_dweight_sum_kernel<<<cols, kThreads, 0, stream>>>(workspace, slices, dim, dweight);
    return cudaGetLastError();
}

}  // namespace jlora
