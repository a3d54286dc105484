// SwiGLU over f32 or bf16: out = silu(g) · u = g · σ(g) · u; backward
// du = d · g · σ(g), dg = d · u · σ(g) · (1 + g · (1 − σ(g))).
//
// Matches jlora.backend.cpu.CpuElementwise#swiglu / #swigluBackward (SwigluKernelsTest: fp32,
// |Δ| ≤ 1e-5 · (|want| + 1)). The CPU takes σ in double then rounds; here σ = 1 / (1 + expf(−g))
// in fp32 (expf, __fdividef: a few ulp): a few ulp from the CPU's σ, far inside the bound, and no
// double-precision exp in a memory-bound loop. Products in the CPU's left-to-right order,
// each rounded (__fmul_rn: no FMA contraction).
//
// f32: grid-stride over elements, 4 per thread with 16-byte accesses when every pointer is
// 16-byte aligned; the n % 4 tail (or everything, unaligned) element-wise. bf16 (the CUDA
// backend's activations): element-wise, widened to fp32 and each output rounded once (RNE);
// its parity bound is bf16's, 1e-2 relative.
#include "swiglu.cuh"
#include "elem.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;

// __fdividef (2 ulp; 0 once 1 + e^-g passes 2^126, where σ is below 1e-38 anyway) rather than
// 1.0f / x or __frcp_rn, whose slow-path subroutine made sm_80 spill.
__device__ __forceinline__ float sigmoid(float g) { return __fdividef(1.0f, 1.0f + expf(-g)); }

__device__ __forceinline__ float fwd(float g, float u) { return __fmul_rn(__fmul_rn(g, sigmoid(g)), u); }

__device__ __forceinline__ void bwd(float d, float g, float u, float& dg, float& du) {
    const float s = sigmoid(g);
    du = __fmul_rn(__fmul_rn(d, g), s);
    dg = __fmul_rn(__fmul_rn(__fmul_rn(d, u), s), __fadd_rn(1.0f, __fmul_rn(g, __fsub_rn(1.0f, s))));
}

__global__ void __launch_bounds__(kThreads)
swiglu_fwd_kernel(const float* __restrict__ gate, const float* __restrict__ up, int64_t n, bool vec,
                  float* __restrict__ out) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    int64_t done = 0;
    if (vec) {
        const int64_t quads = n / 4;
        for (int64_t q = first; q < quads; q += stride) {
            const float4 g = reinterpret_cast<const float4*>(gate)[q];
            const float4 u = reinterpret_cast<const float4*>(up)[q];
            reinterpret_cast<float4*>(out)[q] = make_float4(fwd(g.x, u.x), fwd(g.y, u.y), fwd(g.z, u.z), fwd(g.w, u.w));
        }
        done = quads * 4;
    }
    for (int64_t i = done + first; i < n; i += stride) out[i] = fwd(gate[i], up[i]);
}

__global__ void __launch_bounds__(kThreads)
swiglu_bwd_kernel(const float* __restrict__ dout, const float* __restrict__ gate, const float* __restrict__ up,
                  int64_t n, bool vec, float* __restrict__ dgate, float* __restrict__ dup) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    int64_t done = 0;
    if (vec) {
        const int64_t quads = n / 4;
        for (int64_t q = first; q < quads; q += stride) {
            const float4 d = reinterpret_cast<const float4*>(dout)[q];
            const float4 g = reinterpret_cast<const float4*>(gate)[q];
            const float4 u = reinterpret_cast<const float4*>(up)[q];
            float4 dg, du;
            bwd(d.x, g.x, u.x, dg.x, du.x);
            bwd(d.y, g.y, u.y, dg.y, du.y);
            bwd(d.z, g.z, u.z, dg.z, du.z);
            bwd(d.w, g.w, u.w, dg.w, du.w);
            reinterpret_cast<float4*>(dgate)[q] = dg;
            reinterpret_cast<float4*>(dup)[q] = du;
        }
        done = quads * 4;
    }
    for (int64_t i = done + first; i < n; i += stride) bwd(dout[i], gate[i], up[i], dgate[i], dup[i]);
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
swiglu_fwd_any(const T* __restrict__ gate, const T* __restrict__ up, int64_t n, T* __restrict__ out) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        st(out, i, fwd(ld(gate, i), ld(up, i)));
    }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
swiglu_bwd_any(const T* __restrict__ dout, const T* __restrict__ gate, const T* __restrict__ up, int64_t n,
               T* __restrict__ dgate, T* __restrict__ dup) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        float dg, du;
        bwd(ld(dout, i), ld(gate, i), ld(up, i), dg, du);
        st(dgate, i, dg);
        st(dup, i, du);
    }
}

}  // namespace

cudaError_t swiglu_forward_bf16(const uint16_t* gate, const uint16_t* up, int64_t n, uint16_t* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    swiglu_fwd_any<<<grid_for(n, kThreads), kThreads, 0, stream>>>(gate, up, n, out);
    return cudaGetLastError();
}

cudaError_t swiglu_backward_bf16(const uint16_t* dout, const uint16_t* gate, const uint16_t* up, int64_t n,
                                 uint16_t* dgate, uint16_t* dup, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    swiglu_bwd_any<<<grid_for(n, kThreads), kThreads, 0, stream>>>(dout, gate, up, n, dgate, dup);
    return cudaGetLastError();
}

cudaError_t swiglu_forward(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    const bool vec = is_aligned16(gate) && is_aligned16(up) && is_aligned16(out);
    swiglu_fwd_kernel<<<grid_for(vec ? n / 4 : n, kThreads), kThreads, 0, stream>>>(gate, up, n, vec, out);
    return cudaGetLastError();
}

cudaError_t swiglu_backward(const float* dout, const float* gate, const float* up, int64_t n, float* dgate,
                            float* dup, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    const bool vec = is_aligned16(dout) && is_aligned16(gate) && is_aligned16(up) && is_aligned16(dgate) &&
                     is_aligned16(dup);
    swiglu_bwd_kernel<<<grid_for(vec ? n / 4 : n, kThreads), kThreads, 0, stream>>>(dout, gate, up, n, vec, dgate, dup);
    return cudaGetLastError();
}

}  // namespace jlora
