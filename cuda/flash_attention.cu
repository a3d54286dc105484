// FlashAttention-2-style causal grouped-query attention over packed documents, bf16 in, fp32
// accumulate on tensor cores (mma.sync m16n8k16 bf16, sm_80 and up; sm_90a runs the same path,
// wgmma is a later version). Matches jlora.backend.cpu.CpuAttention (FlashAttentionKernelsTest,
// bf16 bound 1e-2 relative):
//   s_ij = scale·q_i·k_j (keys j of i's document, j ≤ i), lse_i = log Σ_j e^{s_ij}, o_i = Σ_j e^{s_ij − lse_i} v_j
//   backward with D_i = dO_i·o_i: dS_ij = P_ij (dO_i·v_j − D_i), dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = Pᵀ·dO
//
// Forward: one block of 4 warps per (64 query rows, query head, document); each warp owns 16
// rows and walks 64-key tiles of K/V staged in shared memory up to the diagonal, keeping the
// running max / sum (online softmax, exp2 domain: scores are pre-multiplied by scale·log2 e);
// blocks take query tiles from the last (most keys) to the first so the long ones start early;
// the score tile lives only in registers and is fed back to the tensor cores as the A operand
// of P·V (the m16n8 accumulator layout is the m16k16 A layout). GQA: query head h reads kv
// head h / (hq / hkv) in place, nothing is copied.
//
// Backward, deterministic (no atomics): D = rowsum(dO ∘ O) first; then one kernel per 64-key
// tile that loops over every query head of its kv group and every query tile below the diagonal
// (dK, dV held in registers, written once), and one kernel per 64-query tile for dQ that
// recomputes P and dP. That costs 7 tile matmuls per (query, key) tile instead of FA2's 5 with
// an fp32 atomicAdd dQ; the order of every sum is fixed, so the same inputs give the same bits.
//
// Decode: q of one token against a KV cache; the cache is cut into splits (one block per
// split and query head, a warp per key, lanes over head_dim), each writes its (max, sum,
// unnormalised o) to the workspace, and a combine kernel rescales and adds them in split order.
#include "flash_attention.cuh"
#include "bf16_bits.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 128;  // 4 warps
constexpr int kPad = 8;        // bf16 per shared-memory row of padding: rows shift by 4 banks
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    return f32_to_bf16_bits(lo) | (f32_to_bf16_bits(hi) << 16);
}
__device__ __forceinline__ float bf16_f32(uint16_t b) { return __uint_as_float(uint32_t(b) << 16); }

// Two consecutive bf16 of one row (column even, so 4-byte aligned).
__device__ __forceinline__ uint32_t ld_pair(const uint16_t* p) { return *reinterpret_cast<const uint32_t*>(p); }
// The same column of two rows `stride` apart: a B operand read down a column.
__device__ __forceinline__ uint32_t ld_col_pair(const uint16_t* p, int stride) {
    return uint32_t(p[0]) | (uint32_t(p[stride]) << 16);
}

// c += a · b, A 16×16 row-major fragment, B 16×8 column fragment, fp32 accumulate.
__device__ __forceinline__ void mma(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                    uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// rows [r0, r0 + R) of a [.., stride] bf16 matrix (row r at src + r·stride) into shared memory
// with row pitch D + kPad; rows at or past `valid` are zeros (so masked probabilities, which
// are exact zeros, never meet garbage: 0 · NaN would be NaN).
template <int D, int R>
__device__ __forceinline__ void load_tile(uint16_t* dst, const uint16_t* src, int64_t stride, int r0, int valid) {
    constexpr int kChunks = D / 8;  // 16-byte chunks per row
    for (int c = threadIdx.x; c < R * kChunks; c += kThreads) {
        const int r = c / kChunks, col = (c % kChunks) * 8;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r0 + r < valid) v = *reinterpret_cast<const uint4*>(src + int64_t(r0 + r) * stride + col);
        *reinterpret_cast<uint4*>(dst + r * (D + kPad) + col) = v;
    }
}

// acc[16 × N] += A[16 × D] · B[N × D]ᵀ: A rows from `a` (this warp's 16), B rows from `b`
// (both pitch D + kPad). The A fragment of row g (+8), columns 2t (+1, +8, +9); B column n is
// row n of `b`, contiguous along D.
template <int D, int N>
__device__ __forceinline__ void mma_abt(float (&acc)[N / 8][4], const uint16_t* a, const uint16_t* b) {
    constexpr int P = D + kPad;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        const uint16_t* ar = a + g * P + kk * 16 + 2 * t;
        const uint32_t a0 = ld_pair(ar), a1 = ld_pair(ar + 8 * P), a2 = ld_pair(ar + 8), a3 = ld_pair(ar + 8 * P + 8);
#pragma unroll
        for (int n = 0; n < N / 8; n++) {
            const uint16_t* br = b + (n * 8 + g) * P + kk * 16 + 2 * t;
            mma(acc[n], a0, a1, a2, a3, ld_pair(br), ld_pair(br + 8));
        }
    }
}

// acc[16 × D] += P[16 × K] · B[K × D] with P in accumulator layout (bf16-rounded here) and B
// rows from shared memory `b` (pitch D + kPad), read down its columns.
template <int D, int K>
__device__ __forceinline__ void mma_pb(float (&acc)[D / 8][4], const float (&p)[K / 8][4], const uint16_t* b) {
    constexpr int P = D + kPad;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int kk = 0; kk < K / 16; kk++) {
        const uint32_t a0 = pack_bf16(p[2 * kk][0], p[2 * kk][1]), a1 = pack_bf16(p[2 * kk][2], p[2 * kk][3]);
        const uint32_t a2 = pack_bf16(p[2 * kk + 1][0], p[2 * kk + 1][1]), a3 = pack_bf16(p[2 * kk + 1][2], p[2 * kk + 1][3]);
        const uint16_t* br = b + (kk * 16 + 2 * t) * P + g;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            mma(acc[n], a0, a1, a2, a3, ld_col_pair(br + n * 8, P), ld_col_pair(br + n * 8 + 8 * P, P));
        }
    }
}

struct Args {
    const int32_t* cu;
    int hq, hkv;
    float scale_log2;  // 1/sqrt(d) · log2 e
};

// ---------------------------------------------------------------- forward

template <int D>
__global__ void __launch_bounds__(kThreads)
fwd_kernel(Args a, const uint16_t* __restrict__ q, const uint16_t* __restrict__ k, const uint16_t* __restrict__ v,
           uint16_t* __restrict__ o, float* __restrict__ lse) {
    constexpr int BM = 64, BN = 64, P = D + kPad;
    extern __shared__ uint4 smem_raw[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sK = sQ + BM * P;
    uint16_t* sV = sK + BN * P;
    const int b = blockIdx.z, h = blockIdx.y, m0 = (gridDim.x - 1 - blockIdx.x) * BM;  // longest rows first
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (m0 >= len) return;
    const int kvh = h / (a.hq / a.hkv);
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const uint16_t* qb = q + int64_t(start) * qs + int64_t(h) * D;
    const uint16_t* kb = k + int64_t(start) * ks + int64_t(kvh) * D;
    const uint16_t* vb = v + int64_t(start) * ks + int64_t(kvh) * D;
    load_tile<D, BM>(sQ, qb, qs, m0, len);

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int row[2] = {m0 + warp * 16 + g, m0 + warp * 16 + g + 8};
    float acc[D / 8][4] = {};
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    const int keys = min(len, m0 + BM);
    for (int n0 = 0; n0 < keys; n0 += BN) {
        __syncthreads();  // the previous tile is read (and sQ written, first time round)
        load_tile<D, BN>(sK, kb, ks, n0, len);
        load_tile<D, BN>(sV, vb, ks, n0, len);
        __syncthreads();
        float s[BN / 8][4] = {};
        mma_abt<D, BN>(s, sQ + warp * 16 * P, sK);
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int n = 0; n < BN / 8; n++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int col = n0 + n * 8 + 2 * t + (e & 1), r = e >> 1;
                s[n][e] = col > row[r] ? -INFINITY : s[n][e] * a.scale_log2;
                mx[r] = fmaxf(mx[r], s[n][e]);
            }
        }
#pragma unroll
        for (int r = 0; r < 2; r++) {
            // The four lanes of a quad hold one row between them.
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xFFFFFFFFu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xFFFFFFFFu, mx[r], 2));
            const float mnew = fmaxf(m[r], mx[r]);
            const float base = mnew == -INFINITY ? 0.0f : mnew;  // a row with nothing visible yet
            const float corr = exp2f(m[r] - base);
            m[r] = mnew;
            float sum = 0.0f;
#pragma unroll
            for (int n = 0; n < BN / 8; n++) {
                s[n][2 * r] = exp2f(s[n][2 * r] - base);
                s[n][2 * r + 1] = exp2f(s[n][2 * r + 1] - base);
                sum += s[n][2 * r] + s[n][2 * r + 1];
            }
            l[r] = l[r] * corr + sum;  // this lane's part; the quad is summed at the end
#pragma unroll
            for (int n = 0; n < D / 8; n++) {
                acc[n][2 * r] *= corr;
                acc[n][2 * r + 1] *= corr;
            }
        }
        mma_pb<D, BN>(acc, s, sV);
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l[r] += __shfl_xor_sync(0xFFFFFFFFu, l[r], 1);
        l[r] += __shfl_xor_sync(0xFFFFFFFFu, l[r], 2);
        if (row[r] >= len) continue;
        const float inv = 1.0f / l[r];
        uint16_t* orow = o + int64_t(start + row[r]) * qs + int64_t(h) * D + 2 * t;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            *reinterpret_cast<uint32_t*>(orow + n * 8) = pack_bf16(acc[n][2 * r] * inv, acc[n][2 * r + 1] * inv);
        }
        if (t == 0) lse[int64_t(start + row[r]) * a.hq + h] = m[r] * kLn2 + logf(l[r]);
    }
}

// ---------------------------------------------------------------- backward

// D[i, h] = dO[i, h, :] · O[i, h, :], one warp per (token, head).
template <int D>
__global__ void __launch_bounds__(kThreads)
bwd_dot_kernel(const uint16_t* __restrict__ dout, const uint16_t* __restrict__ out, int64_t rows,
               float* __restrict__ dvec) {
    const int64_t r = (int64_t(blockIdx.x) * kThreads + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (r >= rows) return;
    float s = 0.0f;
#pragma unroll
    for (int i = lane; i < D; i += 32) s = fmaf(bf16_f32(dout[r * D + i]), bf16_f32(out[r * D + i]), s);
    for (int w = 16; w > 0; w >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, w);
    if (lane == 0) dvec[r] = s;
}

// Per 64-query tile of one head (key tiles of 64, 32 at d 128): dQ = scale · Σ_key-tiles dS · K.
template <int D>
__global__ void __launch_bounds__(kThreads)
bwd_dq_kernel(Args a, const uint16_t* __restrict__ dout, const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
              const uint16_t* __restrict__ v, const float* __restrict__ lse, const float* __restrict__ dvec,
              uint16_t* __restrict__ dq, float scale) {
    constexpr int BM = 64, BN = D == 128 ? 32 : 64, P = D + kPad;  // BN 32 at d 128: no spills on sm_80
    extern __shared__ uint4 smem_raw[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sO = sQ + BM * P;  // dO
    uint16_t* sK = sO + BM * P;
    uint16_t* sV = sK + BN * P;
    const int b = blockIdx.z, h = blockIdx.y, m0 = (gridDim.x - 1 - blockIdx.x) * BM;  // longest rows first
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (m0 >= len) return;
    const int kvh = h / (a.hq / a.hkv);
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const int64_t qoff = int64_t(start) * qs + int64_t(h) * D, koff = int64_t(start) * ks + int64_t(kvh) * D;
    load_tile<D, BM>(sQ, q + qoff, qs, m0, len);
    load_tile<D, BM>(sO, dout + qoff, qs, m0, len);

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int row[2] = {m0 + warp * 16 + g, m0 + warp * 16 + g + 8};
    float l2[2], dd[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const bool ok = row[r] < len;
        l2[r] = ok ? lse[int64_t(start + row[r]) * a.hq + h] * kLog2e : 0.0f;
        dd[r] = ok ? dvec[int64_t(start + row[r]) * a.hq + h] : 0.0f;
    }
    float acc[D / 8][4] = {};
    const int keys = min(len, m0 + BM);
    for (int n0 = 0; n0 < keys; n0 += BN) {
        __syncthreads();
        load_tile<D, BN>(sK, k + koff, ks, n0, len);
        load_tile<D, BN>(sV, v + koff, ks, n0, len);
        __syncthreads();
        float s[BN / 8][4] = {}, dp[BN / 8][4] = {};
        mma_abt<D, BN>(s, sQ + warp * 16 * P, sK);
        mma_abt<D, BN>(dp, sO + warp * 16 * P, sV);
#pragma unroll
        for (int n = 0; n < BN / 8; n++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int col = n0 + n * 8 + 2 * t + (e & 1), r = e >> 1;
                const float p = col > row[r] ? 0.0f : exp2f(s[n][e] * a.scale_log2 - l2[r]);
                s[n][e] = p * (dp[n][e] - dd[r]);  // dS
            }
        }
        mma_pb<D, BN>(acc, s, sK);
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (row[r] >= len) continue;
        uint16_t* drow = dq + int64_t(start + row[r]) * qs + int64_t(h) * D + 2 * t;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            *reinterpret_cast<uint32_t*>(drow + n * 8) = pack_bf16(acc[n][2 * r] * scale, acc[n][2 * r + 1] * scale);
        }
    }
}

// Per 64-key tile of one kv head: dV = Σ Pᵀ·dO and dK = scale · Σ dSᵀ·Q over every query head
// of the group and every query tile at or below the diagonal. Works on transposed scores
// (rows = keys) so the accumulators are already the A operand of Pᵀ·dO and dSᵀ·Q.
template <int D>
__global__ void __launch_bounds__(kThreads)
bwd_dkdv_kernel(Args a, const uint16_t* __restrict__ dout, const uint16_t* __restrict__ q,
                const uint16_t* __restrict__ k, const uint16_t* __restrict__ v, const float* __restrict__ lse,
                const float* __restrict__ dvec, uint16_t* __restrict__ dk, uint16_t* __restrict__ dv, float scale) {
    constexpr int BN = 64, BQ = D == 128 ? 32 : 64, P = D + kPad;  // BQ 32 at d 128: registers
    extern __shared__ uint4 smem_raw[];
    uint16_t* sK = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sV = sK + BN * P;
    uint16_t* sQ = sV + BN * P;
    uint16_t* sO = sQ + BQ * P;
    float* sL = reinterpret_cast<float*>(sO + BQ * P);
    float* sD = sL + BQ;
    const int b = blockIdx.z, kvh = blockIdx.y, n0 = blockIdx.x * BN;
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (n0 >= len) return;
    const int group = a.hq / a.hkv;
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const int64_t koff = int64_t(start) * ks + int64_t(kvh) * D;
    load_tile<D, BN>(sK, k + koff, ks, n0, len);
    load_tile<D, BN>(sV, v + koff, ks, n0, len);

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int key[2] = {n0 + warp * 16 + g, n0 + warp * 16 + g + 8};
    float ak[D / 8][4] = {}, av[D / 8][4] = {};
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
        const int64_t qoff = int64_t(start) * qs + int64_t(h) * D;
        for (int m0 = n0 / BQ * BQ; m0 < len; m0 += BQ) {
            __syncthreads();
            load_tile<D, BQ>(sQ, q + qoff, qs, m0, len);
            load_tile<D, BQ>(sO, dout + qoff, qs, m0, len);
            for (int i = threadIdx.x; i < BQ; i += kThreads) {
                const bool ok = m0 + i < len;
                sL[i] = ok ? lse[int64_t(start + m0 + i) * a.hq + h] * kLog2e : 0.0f;
                sD[i] = ok ? dvec[int64_t(start + m0 + i) * a.hq + h] : 0.0f;
            }
            __syncthreads();
            float s[BQ / 8][4] = {}, dp[BQ / 8][4] = {};
            mma_abt<D, BQ>(s, sK + warp * 16 * P, sQ);   // Sᵀ = K·Qᵀ
            mma_abt<D, BQ>(dp, sV + warp * 16 * P, sO);  // dPᵀ = V·dOᵀ
#pragma unroll
            for (int n = 0; n < BQ / 8; n++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int i = n * 8 + 2 * t + (e & 1), qi = m0 + i;
                    const float p = key[e >> 1] > qi || qi >= len ? 0.0f : exp2f(s[n][e] * a.scale_log2 - sL[i]);
                    s[n][e] = p;
                    dp[n][e] = p * (dp[n][e] - sD[i]);  // dSᵀ
                }
            }
            mma_pb<D, BQ>(av, s, sO);
            mma_pb<D, BQ>(ak, dp, sQ);
        }
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (key[r] >= len) continue;
        const int64_t off = int64_t(start + key[r]) * ks + int64_t(kvh) * D + 2 * t;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            *reinterpret_cast<uint32_t*>(dk + off + n * 8) = pack_bf16(ak[n][2 * r] * scale, ak[n][2 * r + 1] * scale);
            *reinterpret_cast<uint32_t*>(dv + off + n * 8) = pack_bf16(av[n][2 * r], av[n][2 * r + 1]);
        }
    }
}

// ---------------------------------------------------------------- decode

constexpr int kDecodeKeysPerSplit = 64;  // one 64-key tile per block in decode v2 (256: 4 dependent tiles, latency-bound)
constexpr int kDecodeMaxSplits = 132 * 4;  // a few waves over the largest current SM count

// One block per (split, query head): warp w takes keys c0 + w, c0 + w + 4, ...; lane i holds
// head_dim elements [i·D/32, (i+1)·D/32). Writes (m, l, o[D]) unnormalised, exp2 domain.
template <int D>
__global__ void __launch_bounds__(kThreads)
decode_split_kernel(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k, const uint16_t* __restrict__ v,
                    int64_t len, int64_t chunk, int hq, int hkv, float scale_log2, float* __restrict__ part) {
    constexpr int E = D / 32, W = kThreads / 32;
    __shared__ float sm[W], sl[W], so[W][D];
    const int split = blockIdx.x, h = blockIdx.y, kvh = h / (hq / hkv);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t c0 = split * chunk, c1 = min(len, c0 + chunk), ks = int64_t(hkv) * D;
    float qv[E], o[E] = {};
#pragma unroll
    for (int e = 0; e < E; e++) qv[e] = bf16_f32(q[int64_t(h) * D + lane * E + e]) * scale_log2;
    float m = -INFINITY, l = 0.0f;
    for (int64_t j = c0 + warp; j < c1; j += W) {
        const uint16_t* kr = k + j * ks + int64_t(kvh) * D + lane * E;
        const uint16_t* vr = v + j * ks + int64_t(kvh) * D + lane * E;
        float s = 0.0f;
#pragma unroll
        for (int e = 0; e < E; e++) s = fmaf(qv[e], bf16_f32(kr[e]), s);
        for (int w = 16; w > 0; w >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, w);
        const float mnew = fmaxf(m, s), corr = exp2f(m - mnew), p = exp2f(s - mnew);
        m = mnew;
        l = l * corr + p;
#pragma unroll
        for (int e = 0; e < E; e++) o[e] = o[e] * corr + p * bf16_f32(vr[e]);
    }
    if (lane == 0) { sm[warp] = m; sl[warp] = l; }
#pragma unroll
    for (int e = 0; e < E; e++) so[warp][lane * E + e] = o[e];
    __syncthreads();
    float mx = -INFINITY;
    for (int w = 0; w < W; w++) mx = fmaxf(mx, sm[w]);
    const float base = mx == -INFINITY ? 0.0f : mx;
    float* dst = part + (int64_t(split) * hq + h) * (D + 2);
    for (int i = threadIdx.x; i < D; i += kThreads) {
        float acc = 0.0f;
        for (int w = 0; w < W; w++) acc += so[w][i] * exp2f(sm[w] - base);
        dst[2 + i] = acc;
    }
    if (threadIdx.x == 0) {
        float sum = 0.0f;
        for (int w = 0; w < W; w++) sum += sl[w] * exp2f(sm[w] - base);
        dst[0] = mx;
        dst[1] = sum;
    }
}

template <int D>
__global__ void __launch_bounds__(D)
decode_combine_kernel(const float* __restrict__ part, int splits, int hq, uint16_t* __restrict__ out,
                      float* __restrict__ lse) {
    const int h = blockIdx.x, i = threadIdx.x;
    float mx = -INFINITY;
    for (int s = 0; s < splits; s++) mx = fmaxf(mx, part[(int64_t(s) * hq + h) * (D + 2)]);
    float l = 0.0f, acc = 0.0f;
    for (int s = 0; s < splits; s++) {
        const float* p = part + (int64_t(s) * hq + h) * (D + 2);
        const float w = exp2f(p[0] - mx);
        l += p[1] * w;
        acc += p[2 + i] * w;
    }
    out[int64_t(h) * D + i] = static_cast<uint16_t>(f32_to_bf16_bits(acc / l));
    if (lse && i == 0) lse[h] = mx * kLn2 + logf(l);
}

// ---------------------------------------------------------------- launchers

template <int D>
size_t fwd_smem() { return size_t(3) * 64 * (D + kPad) * 2; }
template <int D>
size_t dq_smem() { return size_t(2 * 64 + 2 * (D == 128 ? 32 : 64)) * (D + kPad) * 2; }
template <int D>
size_t dkdv_smem() {
    constexpr int BQ = D == 128 ? 32 : 64;
    return size_t(2 * 64 + 2 * BQ) * (D + kPad) * 2 + 2 * BQ * sizeof(float);
}

Args args_of(const FlashShape& s) {
    return Args{s.cu_seqlens, s.hq, s.hkv, float(1.0 / sqrt(double(s.head_dim))) * kLog2e};
}

template <int D>
cudaError_t forward(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v, uint16_t* out,
                    float* lse, cudaStream_t stream) {
    const size_t smem = fwd_smem<D>();
    cudaError_t err = cudaFuncSetAttribute(fwd_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
    if (err != cudaSuccess) return err;
    const dim3 grid(unsigned((s.max_seqlen + 63) / 64), unsigned(s.hq), unsigned(s.batch));
    fwd_kernel<D><<<grid, kThreads, smem, stream>>>(args_of(s), q, k, v, out, lse);
    return cudaGetLastError();
}

template <int D>
cudaError_t backward(const FlashShape& s, const uint16_t* dout, const uint16_t* q, const uint16_t* k,
                     const uint16_t* v, const uint16_t* out, const float* lse, uint16_t* dq, uint16_t* dk, uint16_t* dv,
                     float* dvec, cudaStream_t stream) {
    const int64_t rows = int64_t(s.total_tokens) * s.hq;
    bwd_dot_kernel<D><<<unsigned((rows * 32 + kThreads - 1) / kThreads), kThreads, 0, stream>>>(dout, out, rows, dvec);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
    const Args a = args_of(s);
    const float scale = float(1.0 / sqrt(double(D)));
    const unsigned tiles = unsigned((s.max_seqlen + 63) / 64);
    size_t smem = dq_smem<D>();
    if ((err = cudaFuncSetAttribute(bwd_dq_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)))) return err;
    bwd_dq_kernel<D><<<dim3(tiles, unsigned(s.hq), unsigned(s.batch)), kThreads, smem, stream>>>(a, dout, q, k, v, lse,
                                                                                                 dvec, dq, scale);
    if ((err = cudaGetLastError())) return err;
    smem = dkdv_smem<D>();
    if ((err = cudaFuncSetAttribute(bwd_dkdv_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)))) return err;
    bwd_dkdv_kernel<D><<<dim3(tiles, unsigned(s.hkv), unsigned(s.batch)), kThreads, smem, stream>>>(
        a, dout, q, k, v, lse, dvec, dk, dv, scale);
    return cudaGetLastError();
}

template <int D>
cudaError_t decode(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int hq, int hkv,
                   uint16_t* out, float* lse, float* part, cudaStream_t stream) {
    // ceil(len / chunk) splits, not flash_decode_splits(len): with chunk = ceil(len / s) the
    // last of s splits can start past len (len 34000, s 528: chunk 65, 527 · 65 > 34000).
    const int64_t chunk = (len + flash_decode_splits(len) - 1) / flash_decode_splits(len);
    const int splits = int((len + chunk - 1) / chunk);
    const float scale_log2 = float(1.0 / sqrt(double(D))) * kLog2e;
    decode_split_kernel<D><<<dim3(unsigned(splits), unsigned(hq)), kThreads, 0, stream>>>(q, k, v, len, chunk, hq, hkv,
                                                                                          scale_log2, part);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
    decode_combine_kernel<D><<<unsigned(hq), D, 0, stream>>>(part, splits, hq, out, lse);
    return cudaGetLastError();
}

}  // namespace

int flash_decode_splits(int64_t len) {
    int64_t s = (len + kDecodeKeysPerSplit - 1) / kDecodeKeysPerSplit;
    if (s < 1) s = 1;
    return int(s < kDecodeMaxSplits ? s : kDecodeMaxSplits);
}

cudaError_t flash_attention_forward(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                    uint16_t* out, float* lse, cudaStream_t stream) {
    if (s.total_tokens == 0 || s.batch == 0) return cudaSuccess;
    return s.head_dim == 64 ? forward<64>(s, q, k, v, out, lse, stream) : forward<128>(s, q, k, v, out, lse, stream);
}

cudaError_t flash_attention_backward(const FlashShape& s, const uint16_t* dout, const uint16_t* q, const uint16_t* k,
                                     const uint16_t* v, const uint16_t* out, const float* lse, uint16_t* dq,
                                     uint16_t* dk, uint16_t* dv, float* workspace, cudaStream_t stream) {
    if (s.total_tokens == 0 || s.batch == 0) return cudaSuccess;
    return s.head_dim == 64 ? backward<64>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream)
                            : backward<128>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream);
}

cudaError_t flash_decode(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int hq, int hkv,
                         int head_dim, uint16_t* out, float* lse, float* workspace, cudaStream_t stream) {
    if (len == 0) return cudaSuccess;
    return head_dim == 64 ? decode<64>(q, k, v, len, hq, hkv, out, lse, workspace, stream)
                          : decode<128>(q, k, v, len, hq, hkv, out, lse, workspace, stream);
}

}  // namespace jlora
