// Rotary position embedding, rotate-half layout, forward (sign +1) and backward (sign −1).
//
// Matches jlora.backend.cpu.CpuRope#apply (RopeKernelsTest: fp32, |Δ| ≤ 1e-5 · (|want| + 1)):
// angle = fl(float(pos) · inv_freq[j]) in fp32 as HF and the CPU form it; cos and sin of that
// float in double, rounded to float, then times the attention scaling (YaRN / LongRoPE);
// y_j = x_j·c − x_{j+h}·s, y_{j+h} = x_{j+h}·c + x_j·s with every product and sum rounded
// separately (__fmul_rn / __fsub_rn: no FMA, as the CPU's Java arithmetic), so the only
// difference from the CPU is an occasional last-bit difference of the double cos / sin.
// Dims past 2·half are copied. Every scaling type reduces to (inv_freq, scaling), which the
// caller computes (jlora.model's RoPE parameters), so one kernel serves all of them.
//
// x / out are f32 or bf16 (the CUDA backend's q and k); bf16 widens exactly, the rotation is
// fp32 and each output is rounded once (bf16 parity bound 1e-2 relative).
//
// One block per token: the block computes its half cos / sin pairs once into shared memory
// (the double-precision trigonometry is per token, not per head), then all heads' pairs.
#include "rope.cuh"
#include "elem.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;
// sincospi(angle / π) rather than sincos(angle): its argument reduction is exact and cheap,
// where sin / cos of a large double carry a Payne–Hanek path with a stack array. The product
// with 1/π costs about 1e-16 relative in the angle, 1e-11 absolute at angle 1e5: far below
// the float rounding that follows.
constexpr double kInvPi = 0.318309886183790671537767526745;

template <typename T>
__global__ void __launch_bounds__(kThreads)
rope_kernel(const T* x, const int32_t* __restrict__ positions, const float* __restrict__ inv_freq, int half,
            int heads, int head_dim, float scaling, float sign, T* out) {
    __shared__ float cs[kRopeMaxHalf], sn[kRopeMaxHalf];
    const int64_t t = blockIdx.x;
    const float pos = float(positions[t]);
    for (int j = threadIdx.x; j < half; j += blockDim.x) {
        const float angle = __fmul_rn(pos, inv_freq[j]);
        double s, c;
        sincospi(double(angle) * kInvPi, &s, &c);
        cs[j] = __fmul_rn(float(c), scaling);
        sn[j] = __fmul_rn(sign * float(s), scaling);
    }
    __syncthreads();
    const int64_t base = t * heads * head_dim;
    for (int k = threadIdx.x; k < heads * half; k += blockDim.x) {
        const int h = k / half, j = k - h * half;
        const int64_t o = base + int64_t(h) * head_dim;
        const float x1 = ld(x, o + j), x2 = ld(x, o + j + half);
        st(out, o + j, __fsub_rn(__fmul_rn(x1, cs[j]), __fmul_rn(x2, sn[j])));
        st(out, o + j + half, __fadd_rn(__fmul_rn(x2, cs[j]), __fmul_rn(x1, sn[j])));
    }
    const int rest = head_dim - 2 * half;
    if (rest > 0) {
        for (int k = threadIdx.x; k < heads * rest; k += blockDim.x) {
            const int h = k / rest;
            const int64_t o = base + int64_t(h) * head_dim + 2 * half + (k - h * rest);
            out[o] = x[o];  // a copy: exact in either type
        }
    }
}

template <typename T>
cudaError_t apply(const T* x, const int32_t* positions, const float* inv_freq, int32_t half, int64_t tokens,
                  int32_t heads, int32_t head_dim, float scaling, int32_t sign, T* out, cudaStream_t stream) {
    if (tokens <= 0) return cudaSuccess;
    rope_kernel<<<unsigned(tokens), kThreads, 0, stream>>>(x, positions, inv_freq, half, heads, head_dim, scaling,
                                                           sign < 0 ? -1.0f : 1.0f, out);
    return cudaGetLastError();
}

}  // namespace

cudaError_t rope_apply(const float* x, const int32_t* positions, const float* inv_freq, int32_t half,
                       int64_t tokens, int32_t heads, int32_t head_dim, float scaling, int32_t sign,
                       float* out, cudaStream_t stream) {
    return apply(x, positions, inv_freq, half, tokens, heads, head_dim, scaling, sign, out, stream);
}

cudaError_t rope_apply(const uint16_t* x, const int32_t* positions, const float* inv_freq, int32_t half,
                       int64_t tokens, int32_t heads, int32_t head_dim, float scaling, int32_t sign,
                       uint16_t* out, cudaStream_t stream) {
    return apply(x, positions, inv_freq, half, tokens, heads, head_dim, scaling, sign, out, stream);
}

}  // namespace jlora
