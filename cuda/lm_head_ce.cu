// Cross-entropy fused with the LM head in vocabulary chunks (jlora.backend.cuda.LmHeadCeKernels;
// the logits GEMMs are cuBLASLt). Must match jlora.backend.cpu.CpuCrossEntropy (forward: lse and
// the loss sum; backward: dHidden, dLmHead) within bf16 bounds (LmHeadCeKernelsTest).
//
// Only counted rows (target != -100) exist here: the host gathers their indices, so every kernel
// works on a dense [n, chunk] block. Forward per chunk: each row keeps a running max m and sum s
// (online logsumexp, s <- s·e^(m - m') + Σ e^(l - m')) and picks up its target logit when the
// target falls in the chunk. One block per row; each thread runs its own (m, s) over a strided
// slice of the columns, then the block merges the pairs (merge(m1, s1, m2, s2): m = max, s =
// s1·e^(m1 - m) + s2·e^(m2 - m)) in a fixed shuffle order: deterministic. Backward recomputes the
// chunk's logits and writes G = (softmax - onehot) · loss_scale in bf16 for the two GEMMs.
#include "lm_head_ce.cuh"
#include "bf16_bits.cuh"
#include "elem.cuh"
#include "launch.cuh"

#include <cfloat>
#include <cstdint>

namespace jlora {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

__device__ __forceinline__ void merge(float& m, float& s, float m2, float s2) {
    float mm = fmaxf(m, m2);
    if (mm == -INFINITY) return;  // both empty
    s = s * expf(m - mm) + s2 * expf(m2 - mm);
    m = mm;
}

// This thread's online (m, s) over its share of a row: columns threadIdx.x, + blockDim.x, ... or,
// when vec (cols % 4 == 0, the row 16-byte aligned), float4 groups: one max per group, then one
// rescale of s and four exponentials against the new max.
__device__ __forceinline__ void row_online(const float* __restrict__ l, int64_t cols, bool vec, float& m, float& s) {
    if (vec) {
        const float4* l4 = reinterpret_cast<const float4*>(l);
        for (int64_t q = threadIdx.x; q < cols / 4; q += blockDim.x) {
            float4 v = l4[q];
            float mv = fmaxf(fmaxf(v.x, v.y), fmaxf(v.z, v.w));
            if (mv > m) {
                s *= expf(m - mv);
                m = mv;
            }
            s += expf(v.x - m) + expf(v.y - m) + expf(v.z - m) + expf(v.w - m);
        }
        return;
    }
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        float v = l[j];
        if (v > m) {
            s = s * expf(m - v) + 1.0f;
            m = v;
        } else {
            s += expf(v - m);
        }
    }
}

__global__ void __launch_bounds__(kThreads) chunk_forward_kernel(const float* __restrict__ logits, int64_t ld,
                                                                 const int32_t* __restrict__ targets, int64_t n,
                                                                 int64_t cols, int64_t v0, bool first, bool vec,
                                                                 float* __restrict__ state) {
    __shared__ float sm[32], ss[32];
    float* row_max = state;
    float* row_sum = state + n;
    float* row_target = state + 2 * n;
    for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
        const float* l = logits + r * ld;
        float m = -INFINITY, s = 0.0f;
        row_online(l, cols, vec, m, s);
        for (int o = 16; o > 0; o >>= 1) {
            float m2 = __shfl_xor_sync(0xFFFFFFFFu, m, o), s2 = __shfl_xor_sync(0xFFFFFFFFu, s, o);
            merge(m, s, m2, s2);
        }
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
        if (lane == 0) {
            sm[warp] = m;
            ss[warp] = s;
        }
        __syncthreads();
        if (warp == 0) {
            m = lane < warps ? sm[lane] : -INFINITY;
            s = lane < warps ? ss[lane] : 0.0f;
            for (int o = 16; o > 0; o >>= 1) {
                float m2 = __shfl_xor_sync(0xFFFFFFFFu, m, o), s2 = __shfl_xor_sync(0xFFFFFFFFu, s, o);
                merge(m, s, m2, s2);
            }
            if (lane == 0) {
                float pm = first ? -INFINITY : row_max[r], ps = first ? 0.0f : row_sum[r];
                merge(pm, ps, m, s);
                row_max[r] = pm;
                row_sum[r] = ps;
                int64_t y = int64_t(targets[r]) - v0;
                if (first) row_target[r] = 0.0f;
                if (y >= 0 && y < cols) row_target[r] = l[y];
            }
        }
        __syncthreads();  // sm / ss are reused by the next row
    }
}

__global__ void finalize_kernel(const float* __restrict__ state, const int32_t* __restrict__ rows, int64_t n,
                                float* __restrict__ lse, float* __restrict__ loss) {
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < n; c += int64_t(gridDim.x) * blockDim.x) {
        float l = state[c] + logf(state[n + c]);
        int64_t t = rows[c];
        lse[t] = l;
        loss[t] = l - state[2 * n + c];
    }
}

__global__ void __launch_bounds__(kThreads) chunk_backward_kernel(const float* __restrict__ logits, int64_t ld,
                                                                  const int32_t* __restrict__ targets,
                                                                  const int32_t* __restrict__ rows,
                                                                  const float* __restrict__ lse, int64_t n, int64_t cols,
                                                                  int64_t v0, float scale, uint16_t* __restrict__ g,
                                                                  int64_t g_ld) {
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        float l = lse[rows[r]];
        int64_t y = int64_t(targets[r]) - v0;
        for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < cols; j += int64_t(gridDim.x) * blockDim.x) {
            float p = expf(logits[r * ld + j] - l) * scale;
            if (j == y) p -= scale;
            st(g, r * g_ld + j, p);
        }
    }
}

// The same, four columns per thread: float4 in, four bf16 (8 bytes) out (cols, ld, g_ld multiples
// of 4, logits 16-byte and g 8-byte aligned).
__global__ void __launch_bounds__(kThreads) chunk_backward_vec4_kernel(const float* __restrict__ logits, int64_t ld,
                                                                       const int32_t* __restrict__ targets,
                                                                       const int32_t* __restrict__ rows,
                                                                       const float* __restrict__ lse, int64_t n,
                                                                       int64_t cols, int64_t v0, float scale,
                                                                       uint16_t* __restrict__ g, int64_t g_ld) {
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const float l = lse[rows[r]];
        const int64_t y = int64_t(targets[r]) - v0;
        const float4* l4 = reinterpret_cast<const float4*>(logits + r * ld);
        uint2* g4 = reinterpret_cast<uint2*>(g + r * g_ld);
        for (int64_t q = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; q < cols / 4; q += int64_t(gridDim.x) * blockDim.x) {
            float4 v = l4[q];
            float p0 = expf(v.x - l) * scale, p1 = expf(v.y - l) * scale, p2 = expf(v.z - l) * scale, p3 = expf(v.w - l) * scale;
            const int64_t j = 4 * q;
            if (j == y) p0 -= scale;
            if (j + 1 == y) p1 -= scale;
            if (j + 2 == y) p2 -= scale;
            if (j + 3 == y) p3 -= scale;
            g4[q] = make_uint2(f32_to_bf16_bits(p0) | (f32_to_bf16_bits(p1) << 16),
                               f32_to_bf16_bits(p2) | (f32_to_bf16_bits(p3) << 16));
        }
    }
}

// Block-wide merge of per-thread (m, s) pairs; every thread gets the result.
__device__ __forceinline__ void block_merge(float& m, float& s) {
    __shared__ float sm[32], ss[32];
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xFFFFFFFFu, m, o), s2 = __shfl_xor_sync(0xFFFFFFFFu, s, o);
        merge(m, s, m2, s2);
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();  // sm / ss may still be read by a previous call
    if (lane == 0) {
        sm[warp] = m;
        ss[warp] = s;
    }
    __syncthreads();
    m = lane < warps ? sm[lane] : -INFINITY;
    s = lane < warps ? ss[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xFFFFFFFFu, m, o), s2 = __shfl_xor_sync(0xFFFFFFFFu, s, o);
        merge(m, s, m2, s2);
    }
}

// One block per row over the whole vocabulary: pass 1 the online (m, s), pass 2 (when g) the
// gradient row. The row (V · 4 bytes) is read twice; the second read mostly hits L2.
__global__ void __launch_bounds__(kThreads) rows_fwd_bwd_kernel(const float* __restrict__ logits, int64_t ld,
                                                                const int32_t* __restrict__ targets,
                                                                const int32_t* __restrict__ rows, int64_t n, int64_t vocab,
                                                                float scale, uint16_t* __restrict__ g, int64_t g_ld,
                                                                float* __restrict__ lse, float* __restrict__ loss, bool vec,
                                                                bool gvec) {
    for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
        const float* l = logits + r * ld;
        float m = -INFINITY, s = 0.0f;
        row_online(l, vocab, vec, m, s);
        block_merge(m, s);
        const float row_lse = m + logf(s);
        const int64_t y = targets[r];
        if (threadIdx.x == 0) {
            lse[rows[r]] = row_lse;
            loss[rows[r]] = row_lse - l[y];
        }
        if (g != nullptr && gvec) {  // float4 in, four bf16 (8 bytes) out
            const float4* l4 = reinterpret_cast<const float4*>(l);
            uint2* g4 = reinterpret_cast<uint2*>(g + r * g_ld);
            for (int64_t q = threadIdx.x; q < vocab / 4; q += blockDim.x) {
                float4 v = l4[q];
                float p0 = expf(v.x - row_lse) * scale, p1 = expf(v.y - row_lse) * scale;
                float p2 = expf(v.z - row_lse) * scale, p3 = expf(v.w - row_lse) * scale;
                const int64_t j = 4 * q;
                if (j == y) p0 -= scale;
                if (j + 1 == y) p1 -= scale;
                if (j + 2 == y) p2 -= scale;
                if (j + 3 == y) p3 -= scale;
                g4[q] = make_uint2(f32_to_bf16_bits(p0) | (f32_to_bf16_bits(p1) << 16),
                                   f32_to_bf16_bits(p2) | (f32_to_bf16_bits(p3) << 16));
            }
        } else if (g != nullptr) {
            for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) {
                float p = expf(l[j] - row_lse) * scale;
                if (j == y) p -= scale;
                st(g, r * g_ld + j, p);
            }
        }
    }
}

template <typename Src>
__global__ void __launch_bounds__(kThreads) gather_kernel(const Src* __restrict__ src, int64_t src_ld,
                                                          const int32_t* __restrict__ rows, int64_t n, int64_t cols,
                                                          uint16_t* __restrict__ dst) {
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const int64_t t = rows[r];
        for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < cols; j += int64_t(gridDim.x) * blockDim.x) {
            st(dst, r * cols + j, ld(src, t * src_ld + j));
        }
    }
}

template <typename Dst>
__global__ void __launch_bounds__(kThreads) scatter_kernel(const float* __restrict__ src, int64_t n, int64_t cols,
                                                           const int32_t* __restrict__ rows, Dst* __restrict__ dst,
                                                           int64_t dst_ld, bool accumulate) {
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const int64_t t = rows[r];
        for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < cols; j += int64_t(gridDim.x) * blockDim.x) {
            float v = src[r * cols + j];
            if (accumulate) v += ld(dst, t * dst_ld + j);
            st(dst, t * dst_ld + j, v);
        }
    }
}

dim3 grid2d(int64_t rows, int64_t cols) {
    int64_t x = (cols + kThreads - 1) / kThreads;
    return dim3(static_cast<unsigned>(x < 1 ? 1 : x), static_cast<unsigned>(rows < kMaxBlocks ? rows : kMaxBlocks));
}

}  // namespace

cudaError_t lmce_gather_rows(const void* src, bool src_bf16, int64_t ld, const int32_t* rows, int64_t n, int64_t cols,
                           uint16_t* dst, cudaStream_t stream) {
    if (n <= 0 || cols <= 0) return cudaSuccess;
    if (src_bf16) {
        gather_kernel<<<grid2d(n, cols), kThreads, 0, stream>>>(static_cast<const uint16_t*>(src), ld, rows, n, cols, dst);
    } else {
        gather_kernel<<<grid2d(n, cols), kThreads, 0, stream>>>(static_cast<const float*>(src), ld, rows, n, cols, dst);
    }
    return cudaGetLastError();
}

cudaError_t lmce_chunk_forward(const float* logits, int64_t ld, const int32_t* targets, int64_t n, int64_t cols, int64_t v0,
                             bool first, float* state, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    unsigned grid = static_cast<unsigned>(n < kMaxBlocks ? n : kMaxBlocks);
    const bool vec = cols % 4 == 0 && ld % 4 == 0 && (reinterpret_cast<uintptr_t>(logits) & 15u) == 0;
    chunk_forward_kernel<<<grid, kThreads, 0, stream>>>(logits, ld, targets, n, cols, v0, first, vec, state);
    return cudaGetLastError();
}

cudaError_t lmce_finalize(const float* state, const int32_t* rows, int64_t n, float* lse, float* loss, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    finalize_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(state, rows, n, lse, loss);
    return cudaGetLastError();
}

cudaError_t lmce_chunk_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows,
                              const float* lse, int64_t n, int64_t cols, int64_t v0, float loss_scale, uint16_t* g,
                              int64_t g_ld, cudaStream_t stream) {
    if (n <= 0 || cols <= 0) return cudaSuccess;
    if (cols % 4 == 0 && ld % 4 == 0 && g_ld % 4 == 0 && (reinterpret_cast<uintptr_t>(logits) & 15u) == 0 &&
        (reinterpret_cast<uintptr_t>(g) & 7u) == 0) {
        chunk_backward_vec4_kernel<<<grid2d(n, cols / 4), kThreads, 0, stream>>>(logits, ld, targets, rows, lse, n, cols, v0,
                                                                                 loss_scale, g, g_ld);
        return cudaGetLastError();
    }
    chunk_backward_kernel<<<grid2d(n, cols), kThreads, 0, stream>>>(logits, ld, targets, rows, lse, n, cols, v0, loss_scale,
                                                                    g, g_ld);
    return cudaGetLastError();
}

cudaError_t lmce_rows_forward_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows, int64_t n,
                                     int64_t vocab, float loss_scale, uint16_t* g, int64_t g_ld, float* lse, float* loss,
                                     cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    unsigned grid = static_cast<unsigned>(n < kMaxBlocks ? n : kMaxBlocks);
    const bool vec = vocab % 4 == 0 && ld % 4 == 0 && (reinterpret_cast<uintptr_t>(logits) & 15u) == 0;
    const bool gvec = vec && g != nullptr && g_ld % 4 == 0 && (reinterpret_cast<uintptr_t>(g) & 7u) == 0;
    rows_fwd_bwd_kernel<<<grid, kThreads, 0, stream>>>(logits, ld, targets, rows, n, vocab, loss_scale, g, g_ld, lse, loss, vec,
                                                       gvec);
    return cudaGetLastError();
}

cudaError_t lmce_scatter_rows(const float* src, int64_t n, int64_t cols, const int32_t* rows, void* dst, bool dst_bf16,
                            int64_t ld, bool accumulate, cudaStream_t stream) {
    if (n <= 0 || cols <= 0) return cudaSuccess;
    if (dst_bf16) {
        scatter_kernel<<<grid2d(n, cols), kThreads, 0, stream>>>(src, n, cols, rows, static_cast<uint16_t*>(dst), ld,
                                                                 accumulate);
    } else {
        scatter_kernel<<<grid2d(n, cols), kThreads, 0, stream>>>(src, n, cols, rows, static_cast<float*>(dst), ld,
                                                                 accumulate);
    }
    return cudaGetLastError();
}

}  // namespace jlora
