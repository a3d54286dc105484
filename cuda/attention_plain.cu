// Causal grouped-query attention over packed documents in plain fp32 (no tensor cores): the
// CUDA backend's attention for head sizes the flash kernels do not take (they take 64 and
// 128; the built-in tiny model has 16). The math of jlora.backend.cpu.CpuAttention:
// s_ij = q_i·k_j / √d over j in [doc_start(i), i], softmax by an online max / sum,
// lse_i = m + log l (natural log).
//
// Backward (P_ij = exp(s_ij − lse_i), D_i = dO_i·O_i, dS_ij = P_ij (dO_i·v_j − D_i)):
//   dq_i = Σ_j dS_ij k_j / √d          one block per (i, query head)
//   dk_j = Σ_i,h dS_ij q_i / √d,  dv_j = Σ_i,h P_ij dO_i
//                                      one block per (j, kv head), over the group's heads
// Every sum in a fixed order: deterministic, no atomics. One block of 128 threads walks the
// keys (or queries) in tiles of 128, one per thread; each thread then owns output dims
// tid and tid + 128.
#include "attention_plain.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 128, kMaxDim = 256;

__device__ __forceinline__ float block_max(float v) {
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

// Keys (or queries) in the tile that starts `left` before the end of the range.
__device__ __forceinline__ int tile_count(int64_t left) { return left < kThreads ? static_cast<int>(left) : kThreads; }

__device__ __forceinline__ float dot_shared(const float* __restrict__ row, const float* sh, int d) {
    float s = 0.0f;
    for (int c = 0; c < d; c++) s = fmaf(sh[c], row[c], s);
    return s;
}

__global__ void __launch_bounds__(kThreads)
fwd_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
           const int32_t* __restrict__ doc_start, int hq, int hkv, int d, float scale, float* __restrict__ out,
           float* __restrict__ lse) {
    __shared__ float qs[kMaxDim];
    __shared__ float p[kThreads];
    const int64_t i = blockIdx.x;
    const int h = blockIdx.y, kh = h / (hq / hkv), tid = threadIdx.x;
    const float* qi = q + (i * hq + h) * d;
    for (int c = tid; c < d; c += kThreads) qs[c] = qi[c];
    __syncthreads();
    const int64_t s0 = doc_start[i];
    float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
    for (int64_t j0 = s0; j0 <= i; j0 += kThreads) {
        const int64_t j = j0 + tid;
        float score = -INFINITY;
        if (j <= i) score = dot_shared(k + (j * hkv + kh) * d, qs, d) * scale;
        const float m_new = fmaxf(m, block_max(score));
        const float pj = j <= i ? expf(score - m_new) : 0.0f;
        p[tid] = pj;
        const float tile = block_sum(pj);  // its barriers also publish p[]
        const float corr = expf(m - m_new);
        l = l * corr + tile;
        acc0 *= corr;
        acc1 *= corr;
        const int cnt = tile_count(i - j0 + 1);
        for (int jj = 0; jj < cnt; jj++) {
            const float* vj = v + ((j0 + jj) * hkv + kh) * d;
            if (tid < d) acc0 = fmaf(p[jj], vj[tid], acc0);
            if (tid + kThreads < d) acc1 = fmaf(p[jj], vj[tid + kThreads], acc1);
        }
        m = m_new;
        __syncthreads();  // p[] is rewritten by the next tile
    }
    float* oi = out + (i * hq + h) * d;
    if (tid < d) oi[tid] = acc0 / l;
    if (tid + kThreads < d) oi[tid + kThreads] = acc1 / l;
    if (tid == 0) lse[i * hq + h] = m + logf(l);
}

__global__ void __launch_bounds__(kThreads)
dq_kernel(const float* __restrict__ dout, const float* __restrict__ q, const float* __restrict__ k,
          const float* __restrict__ v, const float* __restrict__ out, const float* __restrict__ lse,
          const int32_t* __restrict__ doc_start, int hq, int hkv, int d, float scale, float* __restrict__ dq) {
    __shared__ float qs[kMaxDim];
    __shared__ float gs[kMaxDim];
    __shared__ float ds[kThreads];
    const int64_t i = blockIdx.x;
    const int h = blockIdx.y, kh = h / (hq / hkv), tid = threadIdx.x;
    const int64_t row = (i * hq + h) * d;
    float part = 0.0f;
    for (int c = tid; c < d; c += kThreads) {
        qs[c] = q[row + c];
        gs[c] = dout[row + c];
        part = fmaf(dout[row + c], out[row + c], part);
    }
    const float di = block_sum(part);  // barriers publish qs, gs
    const float li = lse[i * hq + h];
    const int64_t s0 = doc_start[i];
    float acc0 = 0.0f, acc1 = 0.0f;
    for (int64_t j0 = s0; j0 <= i; j0 += kThreads) {
        const int64_t j = j0 + tid;
        float dsj = 0.0f;
        if (j <= i) {
            const float pij = expf(dot_shared(k + (j * hkv + kh) * d, qs, d) * scale - li);
            dsj = pij * (dot_shared(v + (j * hkv + kh) * d, gs, d) - di);
        }
        ds[tid] = dsj;
        __syncthreads();
        const int cnt = tile_count(i - j0 + 1);
        for (int jj = 0; jj < cnt; jj++) {
            const float* kj = k + ((j0 + jj) * hkv + kh) * d;
            if (tid < d) acc0 = fmaf(ds[jj], kj[tid], acc0);
            if (tid + kThreads < d) acc1 = fmaf(ds[jj], kj[tid + kThreads], acc1);
        }
        __syncthreads();
    }
    if (tid < d) dq[row + tid] = acc0 * scale;
    if (tid + kThreads < d) dq[row + tid + kThreads] = acc1 * scale;
}

__global__ void __launch_bounds__(kThreads)
dkdv_kernel(const float* __restrict__ dout, const float* __restrict__ q, const float* __restrict__ k,
            const float* __restrict__ v, const float* __restrict__ out, const float* __restrict__ lse,
            const int32_t* __restrict__ doc_end, int hq, int hkv, int d, float scale, float* __restrict__ dk,
            float* __restrict__ dv) {
    __shared__ float ks[kMaxDim];
    __shared__ float vs[kMaxDim];
    __shared__ float ps[kThreads];
    __shared__ float ds[kThreads];
    const int64_t j = blockIdx.x;
    const int kh = blockIdx.y, group = hq / hkv, tid = threadIdx.x;
    const int64_t row = (j * hkv + kh) * d;
    for (int c = tid; c < d; c += kThreads) {
        ks[c] = k[row + c];
        vs[c] = v[row + c];
    }
    __syncthreads();
    const int64_t end = doc_end[j];
    float dk0 = 0.0f, dk1 = 0.0f, dv0 = 0.0f, dv1 = 0.0f;
    for (int g = 0; g < group; g++) {
        const int h = kh * group + g;
        for (int64_t i0 = j; i0 < end; i0 += kThreads) {
            const int64_t i = i0 + tid;
            float pij = 0.0f, dsij = 0.0f;
            if (i < end) {
                const int64_t qr = (i * hq + h) * d;
                float s = 0.0f, dp = 0.0f, di = 0.0f;
                for (int c = 0; c < d; c++) {
                    s = fmaf(q[qr + c], ks[c], s);
                    dp = fmaf(dout[qr + c], vs[c], dp);
                    di = fmaf(dout[qr + c], out[qr + c], di);
                }
                pij = expf(s * scale - lse[i * hq + h]);
                dsij = pij * (dp - di);
            }
            ps[tid] = pij;
            ds[tid] = dsij;
            __syncthreads();
            const int cnt = tile_count(end - i0);
            for (int ii = 0; ii < cnt; ii++) {
                const int64_t qr = ((i0 + ii) * hq + h) * d;
                if (tid < d) {
                    dv0 = fmaf(ps[ii], dout[qr + tid], dv0);
                    dk0 = fmaf(ds[ii], q[qr + tid], dk0);
                }
                if (tid + kThreads < d) {
                    dv1 = fmaf(ps[ii], dout[qr + tid + kThreads], dv1);
                    dk1 = fmaf(ds[ii], q[qr + tid + kThreads], dk1);
                }
            }
            __syncthreads();
        }
    }
    if (tid < d) {
        dk[row + tid] = dk0 * scale;
        dv[row + tid] = dv0;
    }
    if (tid + kThreads < d) {
        dk[row + tid + kThreads] = dk1 * scale;
        dv[row + tid + kThreads] = dv1;
    }
}

}  // namespace

cudaError_t attention_plain_forward(const float* q, const float* k, const float* v, const int32_t* doc_start,
                                    int64_t tokens, int hq, int hkv, int d, float* out, float* lse, cudaStream_t stream) {
    if (tokens <= 0) return cudaSuccess;
    const float scale = 1.0f / sqrtf(static_cast<float>(d));
    fwd_kernel<<<dim3(static_cast<unsigned>(tokens), hq), kThreads, 0, stream>>>(q, k, v, doc_start, hq, hkv, d, scale,
                                                                               out, lse);
    return cudaGetLastError();
}

cudaError_t attention_plain_backward(const float* dout, const float* q, const float* k, const float* v,
                                     const float* out, const float* lse, const int32_t* doc_start,
                                     const int32_t* doc_end, int64_t tokens, int hq, int hkv, int d, float* dq,
                                     float* dk, float* dv, cudaStream_t stream) {
    if (tokens <= 0) return cudaSuccess;
    const float scale = 1.0f / sqrtf(static_cast<float>(d));
    dq_kernel<<<dim3(static_cast<unsigned>(tokens), hq), kThreads, 0, stream>>>(dout, q, k, v, out, lse, doc_start, hq,
                                                                              hkv, d, scale, dq);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    dkdv_kernel<<<dim3(static_cast<unsigned>(tokens), hkv), kThreads, 0, stream>>>(dout, q, k, v, out, lse, doc_end, hq,
                                                                                 hkv, d, scale, dk, dv);
    return cudaGetLastError();
}

}  // namespace jlora
