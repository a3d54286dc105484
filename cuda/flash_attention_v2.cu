// Flash attention v2: the math and the deterministic backward structure of v1
// (cuda/flash_attention.cu: D pre-pass, one kernel per key tile for dK/dV, one per query tile
// for dQ, no atomics), rebuilt for throughput (bench/results/flash-attention-plan.md, v2):
//   - fragments come from shared memory through ldmatrix (x4: four 8×8 matrices per
//     instruction; .trans for operands read down their columns: V in P·V, K in dS·K, dO and Q
//     in the dK/dV products) instead of 32- and 16-bit shared loads;
//   - the streamed tiles (K/V in the forward and dQ kernels, Q/dO with their lse and D in the
//     dK/dV kernel) are double-buffered with cp.async: tile j + 1 is in flight while tile j is
//     multiplied;
//   - 8 warps per block, 16 rows each: 128 query rows per block in the forward and dQ kernels,
//     128 keys per block in the dK/dV kernel, so each streamed tile serves twice v1's rows;
//   - a warp skips the tiles that its rows cannot see (above the causal diagonal).
// Same roundings as v1 (P and dS to bf16 before their products; out, dq, dk, dv once), so
// FlashEmulation bounds both. The pre-pass also writes lse · log2 e per (head, token) next to
// D so the dK/dV kernel copies both as contiguous rows.
#include "flash_attention.cuh"
#include "flash_mma.cuh"

namespace jlora {
namespace {

using flash::cp_async16;
using flash::cp_async4;
using flash::cp_async_commit;
using flash::cp_async_wait;
using flash::ldsm_x4;
using flash::ldsm_x4_t;
using flash::mma;
using flash::pack_bf16;
using flash::smem_u32;

constexpr int kThreads = 256;  // 8 warps
constexpr int kPad = 8;        // bf16 per row: rows 16 bytes apart mod 128, conflict-free ldmatrix
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

struct Args {
    const int32_t* cu;
    int hq, hkv;
    float scale_log2;  // 1/sqrt(d) · log2 e
};

// Rows [r0, r0 + R) of a [.., stride] bf16 matrix into shared memory (pitch D + kPad) with
// cp.async; rows at or past `valid` become zeros (masked probabilities are exact zeros and
// must not meet garbage: 0 · NaN = NaN). `src` row 0 must exist (it is the dummy source).
template <int D, int R, int NT = kThreads>
__device__ __forceinline__ void tile_async(uint16_t* dst, const uint16_t* src, int64_t stride, int r0, int valid) {
    constexpr int kChunks = D / 8;
#pragma unroll
    for (int c = threadIdx.x; c < R * kChunks; c += NT) {
        const int r = c / kChunks, col = (c % kChunks) * 8;
        const bool ok = r0 + r < valid;
        cp_async16(smem_u32(dst + r * (D + kPad) + col), ok ? src + int64_t(r0 + r) * stride + col : src, ok);
    }
}

// This lane's ldmatrix row address (shared window, bytes) in a tile of pitch P elements; the
// fragment loops add compile-time offsets to it, so no per-fragment address is kept live.
// A operand, 16 rows × 16 columns: matrices (rows 0-7 | 8-15) × (cols 0-7 | 8-15).
template <int P>
__device__ __forceinline__ uint32_t a_lane(const uint16_t* tile, int row0) {
    const int lane = threadIdx.x & 31;
    return smem_u32(tile + (row0 + (lane & 15)) * P + (lane >> 4) * 8);
}
// B operands of two n-tiles whose columns are rows of the stored matrix (K in Q·Kᵀ): rows 0-7
// with k columns 0-7, 8-15, then rows 8-15 likewise. r[0], r[1]: n-tile 0; r[2], r[3]: n-tile 1.
template <int P>
__device__ __forceinline__ uint32_t bt_lane(const uint16_t* tile) {
    const int lane = threadIdx.x & 31;
    return smem_u32(tile + ((lane & 7) + (lane >> 4) * 8) * P + ((lane >> 3) & 1) * 8);
}
// B operands of two n-tiles read down the stored matrix's columns (V in P·V), with .trans:
// k rows 0-7 and 8-15 of columns 0-7, then of columns 8-15. r[0], r[1]: n-tile 0; r[2], r[3]: n-tile 1.
template <int P>
__device__ __forceinline__ uint32_t bn_lane(const uint16_t* tile) {
    const int lane = threadIdx.x & 31;
    return smem_u32(tile + ((lane & 7) + ((lane >> 3) & 1) * 8) * P + (lane >> 4) * 8);
}

// acc[16 × N] += A[16 × D] · B[N × D]ᵀ; a: a_lane of this warp's rows, b: bt_lane of the B rows.
template <int D, int N>
__device__ __forceinline__ void mma_abt(float (&acc)[N / 8][4], uint32_t a, uint32_t b) {
    constexpr int P = D + kPad;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        uint32_t af[4];
        ldsm_x4(af, a + kk * 32);
#pragma unroll
        for (int n = 0; n < N / 16; n++) {
            uint32_t bf[4];
            ldsm_x4(bf, b + (n * 16 * P + kk * 16) * 2);
            mma(acc[2 * n], af, bf[0], bf[1]);
            mma(acc[2 * n + 1], af, bf[2], bf[3]);
        }
    }
}

// acc[16 × D] += X[16 × K] · B[K × D], X in accumulator layout (rounded to bf16 here), b:
// bn_lane of the B rows (read down their columns).
template <int D, int K>
__device__ __forceinline__ void mma_xb(float (&acc)[D / 8][4], const float (&x)[K / 8][4], uint32_t b) {
    constexpr int P = D + kPad;
#pragma unroll
    for (int kk = 0; kk < K / 16; kk++) {
        uint32_t af[4] = {pack_bf16(x[2 * kk][0], x[2 * kk][1]), pack_bf16(x[2 * kk][2], x[2 * kk][3]),
                          pack_bf16(x[2 * kk + 1][0], x[2 * kk + 1][1]), pack_bf16(x[2 * kk + 1][2], x[2 * kk + 1][3])};
#pragma unroll
        for (int n = 0; n < D / 16; n++) {
            uint32_t bf[4];
            ldsm_x4_t(bf, b + (kk * 16 * P + n * 16) * 2);
            mma(acc[2 * n], af, bf[0], bf[1]);
            mma(acc[2 * n + 1], af, bf[2], bf[3]);
        }
    }
}

// ---------------------------------------------------------------- forward

// One block per (128 query rows, query head, document); warp w owns rows m0 + 16w .. + 15.
template <int D>
__global__ void __launch_bounds__(kThreads, 1)  // (256, 2) caps at 128 registers: spills
fwd_kernel(Args a, const uint16_t* __restrict__ q, const uint16_t* __restrict__ k, const uint16_t* __restrict__ v,
           uint16_t* __restrict__ o, float* __restrict__ lse) {
    constexpr int BM = 128, BN = 64, P = D + kPad;
    extern __shared__ uint4 smem_raw[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sK = sQ + BM * P;      // two stages
    uint16_t* sV = sK + 2 * BN * P;  // two stages
    const int b = blockIdx.z, h = blockIdx.y, m0 = (gridDim.x - 1 - blockIdx.x) * BM;  // longest rows first
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (m0 >= len) return;
    const int kvh = h / (a.hq / a.hkv);
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const uint16_t* qb = q + int64_t(start) * qs + int64_t(h) * D;
    const uint16_t* kb = k + int64_t(start) * ks + int64_t(kvh) * D;
    const uint16_t* vb = v + int64_t(start) * ks + int64_t(kvh) * D;
    const int tiles = (min(len, m0 + BM) + BN - 1) / BN;
    tile_async<D, BM>(sQ, qb, qs, m0, len);
    tile_async<D, BN>(sK, kb, ks, 0, len);
    tile_async<D, BN>(sV, vb, ks, 0, len);
    cp_async_commit();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int w0 = m0 + warp * 16;
    const int row[2] = {w0 + g, w0 + g + 8};
    const uint32_t aQ = a_lane<P>(sQ, warp * 16), bK = bt_lane<P>(sK), bV = bn_lane<P>(sV);
    constexpr uint32_t kStage = BN * P * 2;  // bytes
    float acc[D / 8][4] = {};
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    for (int j = 0; j < tiles; j++) {
        const int n0 = j * BN, st = j & 1;
        if (j + 1 < tiles) {
            tile_async<D, BN>(sK + (st ^ 1) * BN * P, kb, ks, n0 + BN, len);
            tile_async<D, BN>(sV + (st ^ 1) * BN * P, vb, ks, n0 + BN, len);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (n0 <= w0 + 15) {  // warp-uniform: some key of the tile is visible to one of its rows
            float s[BN / 8][4] = {};
            mma_abt<D, BN>(s, aQ, bK + st * kStage);
            const bool diagonal = n0 + BN - 1 > w0;
            float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int n = 0; n < BN / 8; n++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int col = n0 + n * 8 + 2 * t + (e & 1), r = e >> 1;
                    s[n][e] = diagonal && col > row[r] ? -INFINITY : s[n][e] * a.scale_log2;
                    mx[r] = fmaxf(mx[r], s[n][e]);
                }
            }
#pragma unroll
            for (int r = 0; r < 2; r++) {
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xFFFFFFFFu, mx[r], 1));
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xFFFFFFFFu, mx[r], 2));
                const float mnew = fmaxf(m[r], mx[r]);
                const float base = mnew == -INFINITY ? 0.0f : mnew;
                const float corr = exp2f(m[r] - base);
                m[r] = mnew;
                float sum = 0.0f;
#pragma unroll
                for (int n = 0; n < BN / 8; n++) {
                    s[n][2 * r] = exp2f(s[n][2 * r] - base);
                    s[n][2 * r + 1] = exp2f(s[n][2 * r + 1] - base);
                    sum += s[n][2 * r] + s[n][2 * r + 1];
                }
                l[r] = l[r] * corr + sum;
#pragma unroll
                for (int n = 0; n < D / 8; n++) {
                    acc[n][2 * r] *= corr;
                    acc[n][2 * r + 1] *= corr;
                }
            }
            mma_xb<D, BN>(acc, s, bV + st * kStage);
        }
        __syncthreads();  // stage st is refilled by the next iteration's prefetch
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

// The forward with 4 warps of 32 rows (two m16 tiles) per 128-row block (version 3): every
// K and V fragment loaded from shared memory feeds both tiles, so the shared-memory traffic
// per mma falls from 2.25 to ~1.4 wavefronts (FlashAttention-2's own warp shape), at the
// price of twice the accumulator registers per thread.
template <int D>
__global__ void __launch_bounds__(128, 1)
fwd_wide_kernel(Args a, const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
                const uint16_t* __restrict__ v, uint16_t* __restrict__ o, float* __restrict__ lse) {
    constexpr int NT = 128, RM = 2, BM = 128, BN = 64, P = D + kPad;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    // sm_80 at d 128 would spill 4 bytes at 255 registers; the launcher never runs it there.
    if constexpr (D == 128) {
        __trap();
    } else
#endif
    {
    extern __shared__ uint4 smem_raw[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sK = sQ + BM * P;      // two stages
    uint16_t* sV = sK + 2 * BN * P;  // two stages
    const int b = blockIdx.z, h = blockIdx.y, m0 = (gridDim.x - 1 - blockIdx.x) * BM;  // longest rows first
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (m0 >= len) return;
    const int kvh = h / (a.hq / a.hkv);
    const int qs = a.hq * D, ks = a.hkv * D;  // < 2^23 (hq <= 65535)
    const uint16_t* qb = q + int64_t(start) * qs + h * D;
    // K/V rows are addressed from the kernel parameters at each prefetch: no 64-bit pointer
    // stays live across the loop (this kernel sits at the 255-register limit at d 128).
    auto kv = [&](const uint16_t* base) { return base + int64_t(start) * ks + kvh * D; };
    const int tiles = (min(len, m0 + BM) + BN - 1) / BN;
    tile_async<D, BM, NT>(sQ, qb, qs, m0, len);
    tile_async<D, BN, NT>(sK, kv(k), ks, 0, len);
    tile_async<D, BN, NT>(sV, kv(v), ks, 0, len);
    cp_async_commit();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int w0 = m0 + warp * 32;
    const uint32_t aQ = a_lane<P>(sQ, warp * 32), bK = bt_lane<P>(sK), bV = bn_lane<P>(sV);
    constexpr uint32_t kStage = BN * P * 2;  // bytes
    float acc[RM][D / 8][4] = {};
    float m[RM][2], l[RM][2];
#pragma unroll
    for (int r = 0; r < RM; r++) m[r][0] = m[r][1] = -INFINITY, l[r][0] = l[r][1] = 0.0f;
    for (int j = 0; j < tiles; j++) {
        const int n0 = j * BN, st = j & 1;
        if (j + 1 < tiles) {
            tile_async<D, BN, NT>(sK + (st ^ 1) * BN * P, kv(k), ks, n0 + BN, len);
            tile_async<D, BN, NT>(sV + (st ^ 1) * BN * P, kv(v), ks, n0 + BN, len);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (n0 <= w0 + 31) {  // warp-uniform: some key of the tile is visible to one of its rows
            float s[RM][BN / 8][4] = {};
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++) {
                uint32_t af[RM][4];
#pragma unroll
                for (int r = 0; r < RM; r++) ldsm_x4(af[r], aQ + (r * 16 * P + kk * 16) * 2);
#pragma unroll
                for (int n = 0; n < BN / 16; n++) {
                    uint32_t bf[4];
                    ldsm_x4(bf, bK + st * kStage + (n * 16 * P + kk * 16) * 2);
#pragma unroll
                    for (int r = 0; r < RM; r++) {
                        mma(s[r][2 * n], af[r], bf[0], bf[1]);
                        mma(s[r][2 * n + 1], af[r], bf[2], bf[3]);
                    }
                }
            }
            const bool diagonal = n0 + BN - 1 > w0;
#pragma unroll
            for (int r = 0; r < RM; r++) {
                const int row[2] = {w0 + r * 16 + g, w0 + r * 16 + g + 8};
                float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
                for (int n = 0; n < BN / 8; n++) {
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const int col = n0 + n * 8 + 2 * t + (e & 1), h2 = e >> 1;
                        s[r][n][e] = diagonal && col > row[h2] ? -INFINITY : s[r][n][e] * a.scale_log2;
                        mx[h2] = fmaxf(mx[h2], s[r][n][e]);
                    }
                }
#pragma unroll
                for (int h2 = 0; h2 < 2; h2++) {
                    mx[h2] = fmaxf(mx[h2], __shfl_xor_sync(0xFFFFFFFFu, mx[h2], 1));
                    mx[h2] = fmaxf(mx[h2], __shfl_xor_sync(0xFFFFFFFFu, mx[h2], 2));
                    const float mnew = fmaxf(m[r][h2], mx[h2]);
                    const float base = mnew == -INFINITY ? 0.0f : mnew;
                    const float corr = exp2f(m[r][h2] - base);
                    m[r][h2] = mnew;
                    float sum = 0.0f;
#pragma unroll
                    for (int n = 0; n < BN / 8; n++) {
                        s[r][n][2 * h2] = exp2f(s[r][n][2 * h2] - base);
                        s[r][n][2 * h2 + 1] = exp2f(s[r][n][2 * h2 + 1] - base);
                        sum += s[r][n][2 * h2] + s[r][n][2 * h2 + 1];
                    }
                    l[r][h2] = l[r][h2] * corr + sum;
#pragma unroll
                    for (int n = 0; n < D / 8; n++) {
                        acc[r][n][2 * h2] *= corr;
                        acc[r][n][2 * h2 + 1] *= corr;
                    }
                }
            }
#pragma unroll
            for (int kk = 0; kk < BN / 16; kk++) {
                uint32_t af[RM][4];
#pragma unroll
                for (int r = 0; r < RM; r++) {
                    af[r][0] = pack_bf16(s[r][2 * kk][0], s[r][2 * kk][1]);
                    af[r][1] = pack_bf16(s[r][2 * kk][2], s[r][2 * kk][3]);
                    af[r][2] = pack_bf16(s[r][2 * kk + 1][0], s[r][2 * kk + 1][1]);
                    af[r][3] = pack_bf16(s[r][2 * kk + 1][2], s[r][2 * kk + 1][3]);
                }
#pragma unroll
                for (int n = 0; n < D / 16; n++) {
                    uint32_t bf[4];
                    ldsm_x4_t(bf, bV + st * kStage + (kk * 16 * P + n * 16) * 2);
#pragma unroll
                    for (int r = 0; r < RM; r++) {  // wide PV
                        mma(acc[r][2 * n], af[r], bf[0], bf[1]);
                        mma(acc[r][2 * n + 1], af[r], bf[2], bf[3]);
                    }
                }
            }
        }
        __syncthreads();  // stage st is refilled by the next iteration's prefetch
    }
#pragma unroll
    for (int r = 0; r < RM; r++) {
#pragma unroll
        for (int h2 = 0; h2 < 2; h2++) {
            const int row = w0 + r * 16 + g + 8 * h2;
            float sum = l[r][h2];
            sum += __shfl_xor_sync(0xFFFFFFFFu, sum, 1);
            sum += __shfl_xor_sync(0xFFFFFFFFu, sum, 2);
            if (row >= len) continue;
            const float inv = 1.0f / sum;
            uint16_t* orow = o + int64_t(start + row) * qs + int64_t(h) * D + 2 * t;
#pragma unroll
            for (int n = 0; n < D / 8; n++) {
                *reinterpret_cast<uint32_t*>(orow + n * 8) =
                    pack_bf16(acc[r][n][2 * h2] * inv, acc[r][n][2 * h2 + 1] * inv);
            }
            if (t == 0) lse[int64_t(start + row) * a.hq + h] = m[r][h2] * kLn2 + logf(sum);
        }
    }
    }
}

// ---------------------------------------------------------------- backward

// D[h][t] = dO[t, h, :] · O[t, h, :] and L[h][t] = lse[t, h] · log2 e; D / 8 threads per row,
// 16-byte loads.
template <int D>
__global__ void __launch_bounds__(kThreads)
bwd_pre_kernel(const uint16_t* __restrict__ dout, const uint16_t* __restrict__ out, const float* __restrict__ lse,
               int64_t tokens, int hq, float* __restrict__ dvec, float* __restrict__ l2) {
    constexpr int C = D / 8;
    const int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x, r = i / C;
    const int c = int(i % C);
    float s = 0.0f;
    if (r < tokens * hq) {
        const uint4 x = *reinterpret_cast<const uint4*>(dout + r * D + c * 8);
        const uint4 y = *reinterpret_cast<const uint4*>(out + r * D + c * 8);
        const uint32_t xs[4] = {x.x, x.y, x.z, x.w}, ys[4] = {y.x, y.y, y.z, y.w};
#pragma unroll
        for (int e = 0; e < 4; e++) {
            s = fmaf(__uint_as_float(xs[e] << 16), __uint_as_float(ys[e] << 16), s);
            s = fmaf(__uint_as_float(xs[e] & 0xFFFF0000u), __uint_as_float(ys[e] & 0xFFFF0000u), s);
        }
    }
#pragma unroll
    for (int w = C / 2; w > 0; w >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, w);
    if (c == 0 && r < tokens * hq) {
        const int64_t t = r / hq, h = r % hq;
        dvec[h * tokens + t] = s;
        l2[h * tokens + t] = lse[r] * kLog2e;
    }
}

// Per (16·W)-query tile of one head (W warps), 64-key tiles streamed: dQ = scale · Σ dS · K.
// W = 8 is v2; W = 4 (v5) halves the block so two fit on an SM (the registers allow one 8-warp
// block), to test whether v2's backward is limited by latency rather than shared memory.
template <int D, int W = 8>
__global__ void __launch_bounds__(32 * W, 1)
bwd_dq_kernel(Args a, const uint16_t* __restrict__ dout, const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
              const uint16_t* __restrict__ v, const float* __restrict__ dvec, const float* __restrict__ l2v,
              int64_t tokens, uint16_t* __restrict__ dq, float scale) {
    constexpr int NT = 32 * W, BM = 16 * W, BN = 64, P = D + kPad;
    extern __shared__ uint4 smem_raw[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sO = sQ + BM * P;  // dO
    uint16_t* sK = sO + BM * P;  // two stages
    uint16_t* sV = sK + 2 * BN * P;
    const int b = blockIdx.z, h = blockIdx.y, m0 = (gridDim.x - 1 - blockIdx.x) * BM;
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (m0 >= len) return;
    const int kvh = h / (a.hq / a.hkv);
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const int64_t qoff = int64_t(start) * qs + int64_t(h) * D, koff = int64_t(start) * ks + int64_t(kvh) * D;
    const int tiles = (min(len, m0 + BM) + BN - 1) / BN;
    tile_async<D, BM, NT>(sQ, q + qoff, qs, m0, len);
    tile_async<D, BM, NT>(sO, dout + qoff, qs, m0, len);
    tile_async<D, BN, NT>(sK, k + koff, ks, 0, len);
    tile_async<D, BN, NT>(sV, v + koff, ks, 0, len);
    cp_async_commit();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int w0 = m0 + warp * 16;
    const int row[2] = {w0 + g, w0 + g + 8};
    float lr[2], dd[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const bool ok = row[r] < len;
        lr[r] = ok ? l2v[int64_t(h) * tokens + start + row[r]] : 0.0f;
        dd[r] = ok ? dvec[int64_t(h) * tokens + start + row[r]] : 0.0f;
    }
    const uint32_t aQ = a_lane<P>(sQ, warp * 16), aO = a_lane<P>(sO, warp * 16);
    const uint32_t bK = bt_lane<P>(sK), bV = bt_lane<P>(sV), bKt = bn_lane<P>(sK);
    constexpr uint32_t kStage = BN * P * 2;  // bytes
    float acc[D / 8][4] = {};
    for (int j = 0; j < tiles; j++) {
        const int n0 = j * BN, st = j & 1;
        if (j + 1 < tiles) {
            tile_async<D, BN, NT>(sK + (st ^ 1) * BN * P, k + koff, ks, n0 + BN, len);
            tile_async<D, BN, NT>(sV + (st ^ 1) * BN * P, v + koff, ks, n0 + BN, len);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (n0 <= w0 + 15) {
            float s[BN / 8][4] = {}, dp[BN / 8][4] = {};
            mma_abt<D, BN>(s, aQ, bK + st * kStage);
            mma_abt<D, BN>(dp, aO, bV + st * kStage);
#pragma unroll
            for (int n = 0; n < BN / 8; n++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int col = n0 + n * 8 + 2 * t + (e & 1), r = e >> 1;
                    const float p = col > row[r] ? 0.0f : exp2f(s[n][e] * a.scale_log2 - lr[r]);
                    s[n][e] = p * (dp[n][e] - dd[r]);  // dS
                }
            }
            mma_xb<D, BN>(acc, s, bKt + st * kStage);
        }
        __syncthreads();
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

// Per 128-key tile of one kv head: dV = Σ Pᵀ·dO, dK = scale · Σ dSᵀ·Q over every query head of
// the group and every query tile at or below the diagonal, those (head, tile) pairs streamed
// through two stages of Q, dO, L, D. Transposed scores (rows = keys): the accumulators are
// the A operands of Pᵀ·dO and dSᵀ·Q.
template <int D, int W = 8>  // W warps, 16·W keys per block (as bwd_dq_kernel)
__global__ void __launch_bounds__(32 * W, 1)
bwd_dkdv_kernel(Args a, const uint16_t* __restrict__ dout, const uint16_t* __restrict__ q,
                const uint16_t* __restrict__ k, const uint16_t* __restrict__ v, const float* __restrict__ dvec,
                const float* __restrict__ l2v, int64_t tokens, uint16_t* __restrict__ dk, uint16_t* __restrict__ dv,
                float scale) {
    constexpr int NT = 32 * W, BN = 16 * W, BQ = D == 128 ? 32 : 64, P = D + kPad;  // BQ 32 at d 128: registers
    extern __shared__ uint4 smem_raw[];
    uint16_t* sK = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sV = sK + BN * P;
    uint16_t* sQ = sV + BN * P;      // two stages
    uint16_t* sO = sQ + 2 * BQ * P;  // two stages
    float* sL = reinterpret_cast<float*>(sO + 2 * BQ * P);  // two stages
    float* sD = sL + 2 * BQ;                                // two stages
    const int b = blockIdx.z, kvh = blockIdx.y, n0 = blockIdx.x * BN;
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (n0 >= len) return;
    const int group = a.hq / a.hkv;
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const int64_t koff = int64_t(start) * ks + int64_t(kvh) * D;
    const int mfirst = n0 / BQ * BQ, per_head = (len - mfirst + BQ - 1) / BQ, steps = group * per_head;

    // (head, query tile) of step i, and its copy into stage st.
    auto issue = [&](int i, int st) {
        const int h = kvh * group + i / per_head, m0 = mfirst + (i % per_head) * BQ;
        const int64_t qoff = int64_t(start) * qs + int64_t(h) * D;
        tile_async<D, BQ, NT>(sQ + st * BQ * P, q + qoff, qs, m0, len);
        tile_async<D, BQ, NT>(sO + st * BQ * P, dout + qoff, qs, m0, len);
        for (int c = threadIdx.x; c < 2 * BQ; c += NT) {
            const int r = c % BQ;
            const bool ok = m0 + r < len;
            const float* src = (c < BQ ? l2v : dvec) + int64_t(h) * tokens + start + (ok ? m0 + r : 0);
            cp_async4(smem_u32((c < BQ ? sL : sD) + st * BQ + r), src, ok);
        }
    };
    tile_async<D, BN, NT>(sK, k + koff, ks, n0, len);
    tile_async<D, BN, NT>(sV, v + koff, ks, n0, len);
    issue(0, 0);
    cp_async_commit();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int w0 = n0 + warp * 16;
    const int key[2] = {w0 + g, w0 + g + 8};
    const uint32_t aK = a_lane<P>(sK, warp * 16), aV = a_lane<P>(sV, warp * 16);
    const uint32_t bQ = bt_lane<P>(sQ), bO = bt_lane<P>(sO), bQt = bn_lane<P>(sQ), bOt = bn_lane<P>(sO);
    constexpr uint32_t kStage = BQ * P * 2;  // bytes
    float ak[D / 8][4] = {}, av[D / 8][4] = {};
    for (int i = 0; i < steps; i++) {
        const int st = i & 1, m0 = mfirst + (i % per_head) * BQ;
        if (i + 1 < steps) issue(i + 1, st ^ 1);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (m0 + BQ - 1 >= w0) {  // warp-uniform: some query of the tile sees one of its keys
            const float* cL = sL + st * BQ;
            const float* cD = sD + st * BQ;
            float s[BQ / 8][4] = {}, dp[BQ / 8][4] = {};
            mma_abt<D, BQ>(s, aK, bQ + st * kStage);   // Sᵀ = K·Qᵀ
            mma_abt<D, BQ>(dp, aV, bO + st * kStage);  // dPᵀ = V·dOᵀ
#pragma unroll
            for (int n = 0; n < BQ / 8; n++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int c = n * 8 + 2 * t + (e & 1), qi = m0 + c;
                    const float p = key[e >> 1] > qi || qi >= len ? 0.0f : exp2f(s[n][e] * a.scale_log2 - cL[c]);
                    s[n][e] = p;
                    dp[n][e] = p * (dp[n][e] - cD[c]);  // dSᵀ
                }
            }
            mma_xb<D, BQ>(av, s, bOt + st * kStage);
            mma_xb<D, BQ>(ak, dp, bQt + st * kStage);
        }
        __syncthreads();
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

// ---------------------------------------------------------------- backward v4: 2-D warp tiles

// acc[RM][N/8][4] += A[RM·16 × K] · B[N × K]ᵀ for one warp: a = a_lane of A's first row (row
// pitch PA), b = bt_lane of B's first row (pitch PB). Each B fragment feeds RM mma.
template <int K, int PA, int PB, int RM, int N>
__device__ __forceinline__ void warp_abt(float (&acc)[RM][N / 8][4], uint32_t a, uint32_t b) {
#pragma unroll 2  // kk only moves addresses; unrolled fully, ptxas hoists every fragment load and spills
    for (int kk = 0; kk < K / 16; kk++) {
        uint32_t af[RM][4];
#pragma unroll
        for (int r = 0; r < RM; r++) ldsm_x4(af[r], a + (r * 16 * PA + kk * 16) * 2);
#pragma unroll
        for (int n = 0; n < N / 16; n++) {
            uint32_t bf[4];
            ldsm_x4(bf, b + (n * 16 * PB + kk * 16) * 2);
#pragma unroll
            for (int r = 0; r < RM; r++) {
                mma(acc[r][2 * n], af[r], bf[0], bf[1]);
                mma(acc[r][2 * n + 1], af[r], bf[2], bf[3]);
            }
        }
    }
}

// acc[RM][N/8][4] += A[RM·16 × K] · B[K × N]: A row-major (a = a_lane, pitch PA), B stored
// [k][n] and read down its columns (b = bn_lane at B's first column, pitch PB).
template <int K, int PA, int PB, int RM, int N>
__device__ __forceinline__ void warp_ab(float (&acc)[RM][N / 8][4], uint32_t a, uint32_t b) {
#pragma unroll 2  // kk only moves addresses; unrolled fully, ptxas hoists every fragment load and spills
    for (int kk = 0; kk < K / 16; kk++) {
        uint32_t af[RM][4];
#pragma unroll
        for (int r = 0; r < RM; r++) ldsm_x4(af[r], a + (r * 16 * PA + kk * 16) * 2);
#pragma unroll
        for (int n = 0; n < N / 16; n++) {
            uint32_t bf[4];
            ldsm_x4_t(bf, b + (kk * 16 * PB + n * 16) * 2);
#pragma unroll
            for (int r = 0; r < RM; r++) {
                mma(acc[r][2 * n], af[r], bf[0], bf[1]);
                mma(acc[r][2 * n + 1], af[r], bf[2], bf[3]);
            }
        }
    }
}

// A warp's [RM·16 × N] fp32 tile (accumulator layout) to bf16 shared memory at dst (its first
// row and column), pitch PX: the A operand of the next product, read back with ldmatrix.
template <int PX, int RM, int N>
__device__ __forceinline__ void store_bf16(uint16_t* dst, const float (&x)[RM][N / 8][4]) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int r = 0; r < RM; r++) {
#pragma unroll
        for (int n = 0; n < N / 8; n++) {
            uint16_t* p = dst + (r * 16 + g) * PX + n * 8 + 2 * t;
            *reinterpret_cast<uint32_t*>(p) = pack_bf16(x[r][n][0], x[r][n][1]);
            *reinterpret_cast<uint32_t*>(p + 8 * PX) = pack_bf16(x[r][n][2], x[r][n][3]);
        }
    }
}

// dQ per 128-query tile of one head, 64-key tiles streamed (two stages). Scores: warp (wq, wk)
// computes S and dP for queries wq·32 .. +31 and keys wk·32 .. +31 (4 × 2 warps), writes dS as
// bf16 to shared memory; then warp (wq, wd) accumulates dQ for those 32 queries and columns
// wd·D/2 .. : dS·K with every fragment feeding two mma (v2: one), FlashAttention-2's layout.
template <int D>
__global__ void __launch_bounds__(kThreads, 1)
bwd_dq4_kernel(Args a, const uint16_t* __restrict__ dout, const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
               const uint16_t* __restrict__ v, const float* __restrict__ dvec, const float* __restrict__ l2v,
               int64_t tokens, uint16_t* __restrict__ dq, float scale) {
    constexpr int BM = 128, BN = 64, P = D + kPad, PS = BN + kPad, DH = D / 2;
    extern __shared__ uint4 smem_raw[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sO = sQ + BM * P;      // dO
    uint16_t* sK = sO + BM * P;      // two stages
    uint16_t* sV = sK + 2 * BN * P;  // two stages
    uint16_t* sS = sV + 2 * BN * P;  // dS [BM][PS]
    const int b = blockIdx.z, h = blockIdx.y, m0 = (gridDim.x - 1 - blockIdx.x) * BM;
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (m0 >= len) return;
    const int kvh = h / (a.hq / a.hkv);
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const int64_t qoff = int64_t(start) * qs + int64_t(h) * D, koff = int64_t(start) * ks + int64_t(kvh) * D;
    const int tiles = (min(len, m0 + BM) + BN - 1) / BN;
    tile_async<D, BM>(sQ, q + qoff, qs, m0, len);
    tile_async<D, BM>(sO, dout + qoff, qs, m0, len);
    tile_async<D, BN>(sK, k + koff, ks, 0, len);
    tile_async<D, BN>(sV, v + koff, ks, 0, len);
    cp_async_commit();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wq = warp & 3, wk = warp >> 2;  // scores: 32 queries × 32 keys; dQ: 32 queries × D/2 (wk = column half)
    const int q0 = m0 + wq * 32;
    float lr[2][2], dd[2][2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
#pragma unroll
        for (int h2 = 0; h2 < 2; h2++) {
            const int row = q0 + r * 16 + g + 8 * h2;
            const bool ok = row < len;
            lr[r][h2] = ok ? l2v[int64_t(h) * tokens + start + row] : 0.0f;
            dd[r][h2] = ok ? dvec[int64_t(h) * tokens + start + row] : 0.0f;
        }
    }
    const uint32_t aQ = a_lane<P>(sQ, wq * 32), aO = a_lane<P>(sO, wq * 32), aS = a_lane<PS>(sS, wq * 32);
    const uint32_t bK = bt_lane<P>(sK + wk * 32 * P), bV = bt_lane<P>(sV + wk * 32 * P);
    const uint32_t bKt = bn_lane<P>(sK + wk * DH);
    constexpr uint32_t kStage = BN * P * 2;  // bytes
    float acc[2][DH / 8][4] = {};
    for (int j = 0; j < tiles; j++) {
        const int n0 = j * BN, st = j & 1;
        if (j + 1 < tiles) {
            tile_async<D, BN>(sK + (st ^ 1) * BN * P, k + koff, ks, n0 + BN, len);
            tile_async<D, BN>(sV + (st ^ 1) * BN * P, v + koff, ks, n0 + BN, len);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        {
            float s[2][4][4] = {}, dp[2][4][4] = {};
            const int k0 = n0 + wk * 32;
            if (k0 <= q0 + 31) {  // some key of this warp's 32 is visible to one of its queries
                warp_abt<D, P, P, 2, 32>(s, aQ, bK + st * kStage);
                warp_abt<D, P, P, 2, 32>(dp, aO, bV + st * kStage);
#pragma unroll
                for (int r = 0; r < 2; r++) {
#pragma unroll
                    for (int n = 0; n < 4; n++) {
#pragma unroll
                        for (int e = 0; e < 4; e++) {
                            const int col = k0 + n * 8 + 2 * t + (e & 1), h2 = e >> 1;
                            const int row = q0 + r * 16 + g + 8 * h2;
                            const float p = col > row ? 0.0f : exp2f(s[r][n][e] * a.scale_log2 - lr[r][h2]);
                            s[r][n][e] = p * (dp[r][n][e] - dd[r][h2]);  // dS
                        }
                    }
                }
            }
            store_bf16<PS, 2, 32>(sS + wq * 32 * PS + wk * 32, s);  // zeros where skipped
        }
        __syncthreads();
        if (n0 <= q0 + 31) warp_ab<BN, PS, P, 2, DH>(acc, aS, bKt + st * kStage);
        __syncthreads();  // stage st and sS are rewritten next
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
#pragma unroll
        for (int h2 = 0; h2 < 2; h2++) {
            const int row = q0 + r * 16 + g + 8 * h2;
            if (row >= len) continue;
            uint16_t* drow = dq + int64_t(start + row) * qs + int64_t(h) * D + wk * DH + 2 * t;
#pragma unroll
            for (int n = 0; n < DH / 8; n++) {
                *reinterpret_cast<uint32_t*>(drow + n * 8) =
                    pack_bf16(acc[r][n][2 * h2] * scale, acc[r][n][2 * h2 + 1] * scale);
            }
        }
    }
}

// dK, dV per 128-key tile of one kv head, (query head, 64-query tile) steps streamed in two
// stages. Scores: warp (wk, wq) computes Sᵀ and dPᵀ for keys wk·32 .. +31 and queries wq·32 ..
// +31, writes P and dS as bf16 [key][query] to shared memory; then warp (wk, wd) accumulates
// dV = Pᵀ·dO and dK = dSᵀ·Q for its 32 keys and columns wd·D/2 .. (two mma per fragment).
template <int D>
__global__ void __launch_bounds__(kThreads, 1)
bwd_dkdv4_kernel(Args a, const uint16_t* __restrict__ dout, const uint16_t* __restrict__ q,
                 const uint16_t* __restrict__ k, const uint16_t* __restrict__ v, const float* __restrict__ dvec,
                 const float* __restrict__ l2v, int64_t tokens, uint16_t* __restrict__ dk, uint16_t* __restrict__ dv,
                 float scale) {
    constexpr int BN = 128, BQ = 64, P = D + kPad, PS = BQ + kPad, DH = D / 2;
    extern __shared__ uint4 smem_raw[];
    uint16_t* sK = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* sV = sK + BN * P;
    uint16_t* sQ = sV + BN * P;      // two stages
    uint16_t* sO = sQ + 2 * BQ * P;  // two stages
    uint16_t* sP = sO + 2 * BQ * P;  // P  [BN][PS]
    uint16_t* sS = sP + BN * PS;     // dS [BN][PS]
    float* sL = reinterpret_cast<float*>(sS + BN * PS);  // two stages
    float* sD = sL + 2 * BQ;                             // two stages
    const int b = blockIdx.z, kvh = blockIdx.y, n0 = blockIdx.x * BN;
    const int start = a.cu[b], len = a.cu[b + 1] - start;
    if (n0 >= len) return;
    const int group = a.hq / a.hkv;
    const int64_t qs = int64_t(a.hq) * D, ks = int64_t(a.hkv) * D;
    const int64_t koff = int64_t(start) * ks + int64_t(kvh) * D;
    const int mfirst = n0, per_head = (len - mfirst + BQ - 1) / BQ, steps = group * per_head;

    auto issue = [&](int i, int st) {
        const int h = kvh * group + i / per_head, m0 = mfirst + (i % per_head) * BQ;
        const int64_t qoff = int64_t(start) * qs + int64_t(h) * D;
        tile_async<D, BQ>(sQ + st * BQ * P, q + qoff, qs, m0, len);
        tile_async<D, BQ>(sO + st * BQ * P, dout + qoff, qs, m0, len);
        for (int c = threadIdx.x; c < 2 * BQ; c += kThreads) {
            const int r = c % BQ;
            const bool ok = m0 + r < len;
            const float* src = (c < BQ ? l2v : dvec) + int64_t(h) * tokens + start + (ok ? m0 + r : 0);
            cp_async4(smem_u32((c < BQ ? sL : sD) + st * BQ + r), src, ok);
        }
    };
    tile_async<D, BN>(sK, k + koff, ks, n0, len);
    tile_async<D, BN>(sV, v + koff, ks, n0, len);
    issue(0, 0);
    cp_async_commit();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wk = warp & 3, wq = warp >> 2;  // scores: 32 keys × 32 queries; dK/dV: 32 keys × D/2 (wq = column half)
    const int k0 = n0 + wk * 32;
    const uint32_t aK = a_lane<P>(sK, wk * 32), aV = a_lane<P>(sV, wk * 32);
    const uint32_t aP = a_lane<PS>(sP, wk * 32), aS = a_lane<PS>(sS, wk * 32);
    const uint32_t bQ = bt_lane<P>(sQ + wq * 32 * P), bO = bt_lane<P>(sO + wq * 32 * P);
    const uint32_t bQt = bn_lane<P>(sQ + wq * DH), bOt = bn_lane<P>(sO + wq * DH);
    constexpr uint32_t kStage = BQ * P * 2;  // bytes
    float ak[2][DH / 8][4] = {}, av[2][DH / 8][4] = {};
    for (int i = 0; i < steps; i++) {
        const int st = i & 1, m0 = mfirst + (i % per_head) * BQ;
        if (i + 1 < steps) issue(i + 1, st ^ 1);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        {
            const int qw0 = m0 + wq * 32;
            float s[2][4][4] = {}, dp[2][4][4] = {};
            if (qw0 + 31 >= k0) {  // some query of this warp's 32 sees one of its keys
                warp_abt<D, P, P, 2, 32>(s, aK, bQ + st * kStage);   // Sᵀ = K·Qᵀ
                warp_abt<D, P, P, 2, 32>(dp, aV, bO + st * kStage);  // dPᵀ = V·dOᵀ
                const float* cL = sL + st * BQ + wq * 32;
                const float* cD = sD + st * BQ + wq * 32;
#pragma unroll
                for (int r = 0; r < 2; r++) {
#pragma unroll
                    for (int n = 0; n < 4; n++) {
#pragma unroll
                        for (int e = 0; e < 4; e++) {
                            const int c = n * 8 + 2 * t + (e & 1), qi = qw0 + c;
                            const int key = k0 + r * 16 + g + 8 * (e >> 1);
                            const float p = key > qi || qi >= len ? 0.0f : exp2f(s[r][n][e] * a.scale_log2 - cL[c]);
                            s[r][n][e] = p;
                            dp[r][n][e] = p * (dp[r][n][e] - cD[c]);  // dSᵀ
                        }
                    }
                }
            }
            store_bf16<PS, 2, 32>(sP + wk * 32 * PS + wq * 32, s);  // zeros where skipped
            store_bf16<PS, 2, 32>(sS + wk * 32 * PS + wq * 32, dp);
        }
        __syncthreads();
        if (m0 + BQ - 1 >= k0) {
            warp_ab<BQ, PS, P, 2, DH>(av, aP, bOt + st * kStage);  // dV += Pᵀ·dO
            warp_ab<BQ, PS, P, 2, DH>(ak, aS, bQt + st * kStage);  // dK += dSᵀ·Q
        }
        __syncthreads();  // stage st, sP and sS are rewritten next
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
#pragma unroll
        for (int h2 = 0; h2 < 2; h2++) {
            const int key = k0 + r * 16 + g + 8 * h2;
            if (key >= len) continue;
            const int64_t off = int64_t(start + key) * ks + int64_t(kvh) * D + wq * DH + 2 * t;
#pragma unroll
            for (int n = 0; n < DH / 8; n++) {
                *reinterpret_cast<uint32_t*>(dk + off + n * 8) =
                    pack_bf16(ak[r][n][2 * h2] * scale, ak[r][n][2 * h2 + 1] * scale);
                *reinterpret_cast<uint32_t*>(dv + off + n * 8) = pack_bf16(av[r][n][2 * h2], av[r][n][2 * h2 + 1]);
            }
        }
    }
}

// ---------------------------------------------------------------- decode

constexpr int kDecodeTile = 64;   // keys per shared-memory stage
constexpr int kDecodeHeads = 8;   // query heads per block (one kv head's group, or 8 of it)

// One block per (split of the cache, kv head, chunk of ≤ 8 of its query heads): K/V of the
// split stream through shared memory in 64-key tiles (cp.async, two stages) and are read once
// for all the group's query heads (v1 read them once per query head, a warp per key). Per
// tile: scores by (head, key) threads, the online-softmax update by one warp per head, then
// o by (head, column pair) threads. Writes (m, l, o[D]) per (split, query head), exp2 domain.
template <int D>
__global__ void __launch_bounds__(kThreads)
decode_split_kernel(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k, const uint16_t* __restrict__ v,
                    int64_t len, int64_t chunk, int hq, int hkv, float scale_log2, float* __restrict__ part) {
    constexpr int P = D + kPad, T = kDecodeTile, G = kDecodeHeads;
    extern __shared__ uint4 smem_raw[];
    uint16_t* sK = reinterpret_cast<uint16_t*>(smem_raw);  // two stages
    uint16_t* sV = sK + 2 * T * P;                          // two stages
    float* sQ = reinterpret_cast<float*>(sV + 2 * T * P);   // [G][D], scaled by scale · log2 e
    float* sP = sQ + G * D;                                 // [G][T]: scores, then probabilities
    float* sCorr = sP + G * T;                              // [G]
    const int split = blockIdx.x, group = hq / hkv, chunks = (group + G - 1) / G;
    const int kvh = blockIdx.y / chunks, h0 = kvh * group + (blockIdx.y % chunks) * G;
    const int heads = min(G, (kvh + 1) * group - h0);
    const int64_t c0 = split * chunk, c1 = min(len, c0 + chunk), ks = int64_t(hkv) * D;
    const uint16_t* kb = k + c0 * ks + int64_t(kvh) * D;
    const uint16_t* vb = v + c0 * ks + int64_t(kvh) * D;
    const int keys = int(c1 - c0), tiles = (keys + T - 1) / T;
    tile_async<D, T>(sK, kb, ks, 0, keys);
    tile_async<D, T>(sV, vb, ks, 0, keys);
    cp_async_commit();
    for (int i = threadIdx.x; i < heads * D; i += kThreads) {
        sQ[i] = __uint_as_float(uint32_t(q[int64_t(h0) * D + i]) << 16) * scale_log2;
    }
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float m = -INFINITY, l = 0.0f;  // warp h < heads keeps head h's running max and sum
    constexpr int kPairs = (G * D / 2 + kThreads - 1) / kThreads;
    float o[kPairs][2] = {};
    for (int j = 0; j < tiles; j++) {
        const int st = j & 1;
        if (j + 1 < tiles) {
            tile_async<D, T>(sK + (st ^ 1) * T * P, kb, ks, (j + 1) * T, keys);
            tile_async<D, T>(sV + (st ^ 1) * T * P, vb, ks, (j + 1) * T, keys);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();  // tile j (and sQ) visible; sP free
        const uint16_t* cK = sK + st * T * P;
        for (int i = threadIdx.x; i < heads * T; i += kThreads) {
            const int h = i / T, key = i % T;
            const float* qh = sQ + h * D;
            float s = 0.0f;
#pragma unroll
            for (int c = 0; c < D; c += 8) {
                const uint4 kv8 = *reinterpret_cast<const uint4*>(cK + key * P + c);
                const uint32_t w[4] = {kv8.x, kv8.y, kv8.z, kv8.w};
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    s = fmaf(qh[c + 2 * e], __uint_as_float(w[e] << 16), s);
                    s = fmaf(qh[c + 2 * e + 1], __uint_as_float(w[e] & 0xFFFF0000u), s);
                }
            }
            sP[h * T + key] = j * T + key < keys ? s : -INFINITY;
        }
        __syncthreads();
        if (warp < heads) {
            float* ph = sP + warp * T;
            float x[T / 32], mx = -INFINITY;
#pragma unroll
            for (int e = 0; e < T / 32; e++) {
                x[e] = ph[lane + 32 * e];
                mx = fmaxf(mx, x[e]);
            }
            for (int w = 16; w > 0; w >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xFFFFFFFFu, mx, w));
            const float mnew = fmaxf(m, mx), corr = exp2f(m - mnew);  // key 0 of a tile is always valid
            float sum = 0.0f;
#pragma unroll
            for (int e = 0; e < T / 32; e++) {
                x[e] = exp2f(x[e] - mnew);
                sum += x[e];
                ph[lane + 32 * e] = x[e];
            }
            for (int w = 16; w > 0; w >>= 1) sum += __shfl_xor_sync(0xFFFFFFFFu, sum, w);
            m = mnew;
            l = l * corr + sum;
            if (lane == 0) sCorr[warp] = corr;
        }
        __syncthreads();
        const uint16_t* cV = sV + st * T * P;
#pragma unroll
        for (int u = 0; u < kPairs; u++) {
            const int i = threadIdx.x + u * kThreads, h = i / (D / 2), c = 2 * (i % (D / 2));
            if (h >= heads) continue;
            const float corr = sCorr[h];
            float a0 = o[u][0] * corr, a1 = o[u][1] * corr;
            const float* ph = sP + h * T;
#pragma unroll 4
            for (int key = 0; key < T; key += 4) {
                const float4 p4 = *reinterpret_cast<const float4*>(ph + key);
                const float pk[4] = {p4.x, p4.y, p4.z, p4.w};
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const uint32_t w = *reinterpret_cast<const uint32_t*>(cV + (key + e) * P + c);
                    a0 = fmaf(pk[e], __uint_as_float(w << 16), a0);
                    a1 = fmaf(pk[e], __uint_as_float(w & 0xFFFF0000u), a1);
                }
            }
            o[u][0] = a0;
            o[u][1] = a1;
        }
        __syncthreads();  // stage st and sP are refilled next
    }
#pragma unroll
    for (int u = 0; u < kPairs; u++) {
        const int i = threadIdx.x + u * kThreads, h = i / (D / 2), c = 2 * (i % (D / 2));
        if (h >= heads) continue;
        float* dst = part + (int64_t(split) * hq + h0 + h) * (D + 2);
        dst[2 + c] = o[u][0];
        dst[3 + c] = o[u][1];
    }
    if (warp < heads && lane == 0) {
        float* dst = part + (int64_t(split) * hq + h0 + warp) * (D + 2);
        dst[0] = m;
        dst[1] = l;
    }
}

// out[h] = Σ_s 2^(m_s − M) o_s / Σ_s 2^(m_s − M) l_s over the splits, M = max_s m_s. One block
// per query head: warp w takes splits w, w + 8, ...; the 8 warp sums are added in warp order.
template <int D>
__global__ void __launch_bounds__(kThreads)
decode_combine_kernel(const float* __restrict__ part, int splits, int hq, uint16_t* __restrict__ out,
                      float* __restrict__ lse) {
    constexpr int E = D / 32, W = kThreads / 32;
    __shared__ float sMax[W], sL[W], sO[W][D];
    const int h = blockIdx.x, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float mx = -INFINITY;
    for (int s = threadIdx.x; s < splits; s += kThreads) mx = fmaxf(mx, part[(int64_t(s) * hq + h) * (D + 2)]);
    for (int w = 16; w > 0; w >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xFFFFFFFFu, mx, w));
    if (lane == 0) sMax[warp] = mx;
    __syncthreads();
    mx = sMax[0];
    for (int w = 1; w < W; w++) mx = fmaxf(mx, sMax[w]);
    float l = 0.0f, acc[E] = {};
#pragma unroll 8  // the loads of 8 splits in flight at once (the sums stay in split order)
    for (int s = warp; s < splits; s += W) {
        const float* p = part + (int64_t(s) * hq + h) * (D + 2);
        const float wgt = exp2f(p[0] - mx);
        l = fmaf(p[1], wgt, l);
#pragma unroll
        for (int e = 0; e < E; e++) acc[e] = fmaf(p[2 + lane + 32 * e], wgt, acc[e]);
    }
    if (lane == 0) sL[warp] = l;
#pragma unroll
    for (int e = 0; e < E; e++) sO[warp][lane + 32 * e] = acc[e];
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < W; w++) total += sL[w];
    for (int i = threadIdx.x; i < D; i += kThreads) {
        float a = 0.0f;
        for (int w = 0; w < W; w++) a += sO[w][i];
        out[int64_t(h) * D + i] = static_cast<uint16_t>(f32_to_bf16_bits(a / total));
    }
    if (lse && threadIdx.x == 0) lse[h] = mx * kLn2 + logf(total);
}

// ---------------------------------------------------------------- launchers

template <int D>
constexpr size_t fwd_smem() { return size_t(128 + 4 * 64) * (D + kPad) * 2; }
template <int D, int W = 8>
constexpr size_t dq_smem() { return size_t(2 * 16 * W + 4 * 64) * (D + kPad) * 2; }
template <int D, int W = 8>
constexpr size_t dkdv_smem() {
    constexpr int BQ = D == 128 ? 32 : 64;
    return size_t(2 * 16 * W + 4 * BQ) * (D + kPad) * 2 + 4 * BQ * sizeof(float);
}

Args args_of(const FlashShape& s) {
    return Args{s.cu_seqlens, s.hq, s.hkv, float(1.0 / sqrt(double(s.head_dim))) * kLog2e};
}

template <typename K>
cudaError_t allow_smem(K kernel, size_t bytes) {
    return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
}

template <int D>
cudaError_t forward(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v, uint16_t* out,
                    float* lse, cudaStream_t stream) {
    cudaError_t err = allow_smem(fwd_kernel<D>, fwd_smem<D>());
    if (err != cudaSuccess) return err;
    const dim3 grid(unsigned((s.max_seqlen + 127) / 128), unsigned(s.hq), unsigned(s.batch));
    fwd_kernel<D><<<grid, kThreads, fwd_smem<D>(), stream>>>(args_of(s), q, k, v, out, lse);
    return cudaGetLastError();
}

template <int D>
cudaError_t forward_wide(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v, uint16_t* out,
                         float* lse, cudaStream_t stream) {
    if (D == 128) {  // compiled for sm_90a only (see fwd_wide_kernel): older GPUs take v2's forward
        int dev = 0, major = 0;
        cudaError_t e = cudaGetDevice(&dev);
        if (e == cudaSuccess) e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
        if (e != cudaSuccess) return e;
        if (major < 9) return forward<D>(s, q, k, v, out, lse, stream);
    }
    cudaError_t err = allow_smem(fwd_wide_kernel<D>, fwd_smem<D>());
    if (err != cudaSuccess) return err;
    const dim3 grid(unsigned((s.max_seqlen + 127) / 128), unsigned(s.hq), unsigned(s.batch));
    fwd_wide_kernel<D><<<grid, 128, fwd_smem<D>(), stream>>>(args_of(s), q, k, v, out, lse);
    return cudaGetLastError();
}

template <int D, int W = 8>
cudaError_t backward(const FlashShape& s, const uint16_t* dout, const uint16_t* q, const uint16_t* k,
                     const uint16_t* v, const uint16_t* out, const float* lse, uint16_t* dq, uint16_t* dk, uint16_t* dv,
                     float* ws, cudaStream_t stream) {
    const int64_t tokens = s.total_tokens, rows = tokens * s.hq;
    float* dvec = ws;
    float* l2 = ws + rows;
    const int64_t threads = rows * (D / 8);
    bwd_pre_kernel<D><<<unsigned((threads + kThreads - 1) / kThreads), kThreads, 0, stream>>>(dout, out, lse, tokens,
                                                                                            s.hq, dvec, l2);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
    const Args a = args_of(s);
    const float scale = float(1.0 / sqrt(double(D)));
    constexpr int tile = 16 * W;  // query rows per dQ block, keys per dK/dV block
    const unsigned tiles = unsigned((s.max_seqlen + tile - 1) / tile);
    if ((err = allow_smem(bwd_dq_kernel<D, W>, dq_smem<D, W>()))) return err;
    bwd_dq_kernel<D, W><<<dim3(tiles, unsigned(s.hq), unsigned(s.batch)), 32 * W, dq_smem<D, W>(), stream>>>(
        a, dout, q, k, v, dvec, l2, tokens, dq, scale);
    if ((err = cudaGetLastError())) return err;
    if ((err = allow_smem(bwd_dkdv_kernel<D, W>, dkdv_smem<D, W>()))) return err;
    bwd_dkdv_kernel<D, W><<<dim3(tiles, unsigned(s.hkv), unsigned(s.batch)), 32 * W, dkdv_smem<D, W>(), stream>>>(
        a, dout, q, k, v, dvec, l2, tokens, dk, dv, scale);
    return cudaGetLastError();
}

template <int D>
constexpr size_t decode_smem() {
    return size_t(4) * kDecodeTile * (D + kPad) * 2 + (kDecodeHeads * D + kDecodeHeads * kDecodeTile + kDecodeHeads) * 4;
}

template <int D>
cudaError_t decode(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int hq, int hkv,
                   uint16_t* out, float* lse, float* part, cudaStream_t stream) {
    // ceil(len / chunk) splits (≤ flash_decode_splits(len), which sizes the workspace): every
    // split non-empty (with chunk = ceil(len / s), the last of s splits can start past len).
    const int64_t chunk = (len + flash_decode_splits(len) - 1) / flash_decode_splits(len);
    const int splits = int((len + chunk - 1) / chunk), group = hq / hkv;
    const float scale_log2 = float(1.0 / sqrt(double(D))) * kLog2e;
    cudaError_t err = allow_smem(decode_split_kernel<D>, decode_smem<D>());
    if (err != cudaSuccess) return err;
    const dim3 grid(unsigned(splits), unsigned(hkv * ((group + kDecodeHeads - 1) / kDecodeHeads)));
    decode_split_kernel<D><<<grid, kThreads, decode_smem<D>(), stream>>>(q, k, v, len, chunk, hq, hkv, scale_log2,
                                                                         part);
    if ((err = cudaGetLastError())) return err;
    decode_combine_kernel<D><<<unsigned(hq), kThreads, 0, stream>>>(part, splits, hq, out, lse);
    return cudaGetLastError();
}

template <int D>
constexpr size_t dq4_smem() { return size_t(2 * 128 + 4 * 64) * (D + kPad) * 2 + size_t(128) * (64 + kPad) * 2; }
template <int D>
constexpr size_t dkdv4_smem() {
    return size_t(2 * 128 + 4 * 64) * (D + kPad) * 2 + size_t(2 * 128) * (64 + kPad) * 2 + 4 * 64 * sizeof(float);
}

template <int D>
cudaError_t backward4(const FlashShape& s, const uint16_t* dout, const uint16_t* q, const uint16_t* k,
                      const uint16_t* v, const uint16_t* out, const float* lse, uint16_t* dq, uint16_t* dk,
                      uint16_t* dv, float* ws, cudaStream_t stream) {
    const int64_t tokens = s.total_tokens, rows = tokens * s.hq;
    float* dvec = ws;
    float* l2 = ws + rows;
    const int64_t threads = rows * (D / 8);
    bwd_pre_kernel<D><<<unsigned((threads + kThreads - 1) / kThreads), kThreads, 0, stream>>>(dout, out, lse, tokens,
                                                                                            s.hq, dvec, l2);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
    const Args a = args_of(s);
    const float scale = float(1.0 / sqrt(double(D)));
    const unsigned tiles = unsigned((s.max_seqlen + 127) / 128);
    if ((err = allow_smem(bwd_dq4_kernel<D>, dq4_smem<D>()))) return err;
    bwd_dq4_kernel<D><<<dim3(tiles, unsigned(s.hq), unsigned(s.batch)), kThreads, dq4_smem<D>(), stream>>>(
        a, dout, q, k, v, dvec, l2, tokens, dq, scale);
    if ((err = cudaGetLastError())) return err;
    if ((err = allow_smem(bwd_dkdv4_kernel<D>, dkdv4_smem<D>()))) return err;
    bwd_dkdv4_kernel<D><<<dim3(tiles, unsigned(s.hkv), unsigned(s.batch)), kThreads, dkdv4_smem<D>(), stream>>>(
        a, dout, q, k, v, dvec, l2, tokens, dk, dv, scale);
    return cudaGetLastError();
}

}  // namespace

cudaError_t flash_attention_backward_v5(const FlashShape& s, const uint16_t* dout, const uint16_t* q,
                                        const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                                        uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace,
                                        cudaStream_t stream) {
    if (s.total_tokens == 0 || s.batch == 0) return cudaSuccess;
    return s.head_dim == 64 ? backward<64, 4>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream)
                            : backward<128, 4>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream);
}

cudaError_t flash_attention_backward_v4(const FlashShape& s, const uint16_t* dout, const uint16_t* q,
                                        const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                                        uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace,
                                        cudaStream_t stream) {
    if (s.total_tokens == 0 || s.batch == 0) return cudaSuccess;
    return s.head_dim == 64 ? backward4<64>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream)
                            : backward4<128>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream);
}

cudaError_t flash_decode_v2(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int hq, int hkv,
                            int head_dim, uint16_t* out, float* lse, float* workspace, cudaStream_t stream) {
    if (len == 0) return cudaSuccess;
    return head_dim == 64 ? decode<64>(q, k, v, len, hq, hkv, out, lse, workspace, stream)
                          : decode<128>(q, k, v, len, hq, hkv, out, lse, workspace, stream);
}

cudaError_t flash_attention_forward_v2(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                       uint16_t* out, float* lse, cudaStream_t stream) {
    if (s.total_tokens == 0 || s.batch == 0) return cudaSuccess;
    return s.head_dim == 64 ? forward<64>(s, q, k, v, out, lse, stream) : forward<128>(s, q, k, v, out, lse, stream);
}

cudaError_t flash_attention_forward_v3(const FlashShape& s, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                       uint16_t* out, float* lse, cudaStream_t stream) {
    if (s.total_tokens == 0 || s.batch == 0) return cudaSuccess;
    return s.head_dim == 64 ? forward_wide<64>(s, q, k, v, out, lse, stream)
                            : forward_wide<128>(s, q, k, v, out, lse, stream);
}

cudaError_t flash_attention_backward_v2(const FlashShape& s, const uint16_t* dout, const uint16_t* q,
                                        const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                                        uint16_t* dq, uint16_t* dk, uint16_t* dv, float* workspace,
                                        cudaStream_t stream) {
    if (s.total_tokens == 0 || s.batch == 0) return cudaSuccess;
    return s.head_dim == 64 ? backward<64>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream)
                            : backward<128>(s, dout, q, k, v, out, lse, dq, dk, dv, workspace, stream);
}

}  // namespace jlora
