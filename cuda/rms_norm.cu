// RMSNorm forward / backward over f32 rows [rows, dim] with an f32 weight [dim].
//
// Matches jlora.backend.cpu.CpuRmsNorm (RmsNormKernelsTest: fp32, |Δ| ≤ 1e-5 · (|want| + 1)):
// r = 1 / sqrt(Σx²/D + eps) (correctly rounded sqrt and division, as the CPU's double sqrt
// rounded), y = x · r · w; backward dx = r·g·w − x · r³/D · Σ g·w·x. Sums are fp32 in a
// different order than the CPU's vector lanes, hence a tolerance rather than bits.
//
// Activations (x, y, dy, dx) are f32 or bf16 (the CUDA backend's); weight, rstd and dWeight
// stay f32. bf16 loads widen exactly, every sum is fp32, each bf16 output is rounded once
// (bf16 parity bound 1e-2 relative).
//
// One block per row; the row sums go through block_sum (fixed tree, deterministic).
// dWeight is two passes without float atomics: pass 1 writes per-slice partial sums over
// kRmsRowsPerSlice rows into the workspace (one thread per column, coalesced), pass 2 adds
// the slices in order into dWeight. The same inputs give the same bits on every run.
#include "rms_norm.cuh"
#include "elem.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kThreads)
rms_forward_kernel(const T* __restrict__ x, const float* __restrict__ w, float eps, int64_t dim,
                   T* __restrict__ y, float* __restrict__ rstd) {
    const int64_t o = int64_t(blockIdx.x) * dim;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        const float xi = ld(x, o + i);
        ss = fmaf(xi, xi, ss);
    }
    ss = block_sum(ss);
    const float r = 1.0f / sqrtf(ss / float(dim) + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) st(y, o + i, __fmul_rn(__fmul_rn(ld(x, o + i), r), w[i]));
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
rms_backward_dx_kernel(const T* __restrict__ g, const T* __restrict__ x, const float* __restrict__ w,
                       const float* __restrict__ rstd, int64_t dim, T* __restrict__ dx) {
    const int64_t o = int64_t(blockIdx.x) * dim;
    float dot = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dot = fmaf(ld(g, o + i) * w[i], ld(x, o + i), dot);
    dot = block_sum(dot);
    const float r = rstd[blockIdx.x];
    const float c = r * r * r * dot / float(dim);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) st(dx, o + i, r * ld(g, o + i) * w[i] - c * ld(x, o + i));
}

// grid (ceil(dim / kThreads), slices): partial[slice][i] = Σ over the slice's rows of g·x·r.
template <typename T>
__global__ void __launch_bounds__(kThreads)
rms_dweight_partial_kernel(const T* __restrict__ g, const T* __restrict__ x, const float* __restrict__ rstd,
                           int64_t rows, int64_t dim, float* __restrict__ partial) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= dim) return;
    const int64_t t0 = blockIdx.y * kRmsRowsPerSlice;
    const int64_t t1 = t0 + kRmsRowsPerSlice < rows ? t0 + kRmsRowsPerSlice : rows;
    float s = 0.0f;
    for (int64_t t = t0; t < t1; t++) s = fmaf(ld(g, t * dim + i) * ld(x, t * dim + i), rstd[t], s);
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

template <typename T>
cudaError_t forward(const T* x, const float* weight, float eps, int64_t rows, int64_t dim, T* out, float* rstd,
                    cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    rms_forward_kernel<<<unsigned(rows), kThreads, 0, stream>>>(x, weight, eps, dim, out, rstd);
    return cudaGetLastError();
}

template <typename T>
cudaError_t backward(const T* dout, const T* x, const float* weight, const float* rstd, int64_t rows, int64_t dim,
                     T* dx, float* dweight, float* workspace, cudaStream_t stream) {
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

}  // namespace

cudaError_t rms_norm_forward(const float* x, const float* weight, float eps, int64_t rows, int64_t dim, float* out,
                             float* rstd, cudaStream_t stream) {
    return forward(x, weight, eps, rows, dim, out, rstd, stream);
}

cudaError_t rms_norm_forward(const uint16_t* x, const float* weight, float eps, int64_t rows, int64_t dim,
                             uint16_t* out, float* rstd, cudaStream_t stream) {
    return forward(x, weight, eps, rows, dim, out, rstd, stream);
}

cudaError_t rms_norm_backward(const float* dout, const float* x, const float* weight, const float* rstd, int64_t rows,
                              int64_t dim, float* dx, float* dweight, float* workspace, cudaStream_t stream) {
    return backward(dout, x, weight, rstd, rows, dim, dx, dweight, workspace, stream);
}

cudaError_t rms_norm_backward(const uint16_t* dout, const uint16_t* x, const float* weight, const float* rstd,
                              int64_t rows, int64_t dim, uint16_t* dx, float* dweight, float* workspace,
                              cudaStream_t stream) {
    return backward(dout, x, weight, rstd, rows, dim, dx, dweight, workspace, stream);
}

}  // namespace jlora
