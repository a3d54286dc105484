// bitsandbytes' AdamW with blockwise 8-bit state, one step over a range of parameters.
//
// Bit-identical to jlora.train.AdamW8bit#update8bit / #update32bit (AdamW8bitKernelsTest
// compares every parameter bit, state code and absmax), which transcribe bitsandbytes'
// kOptimizerStatic8bit2StateBlockwise<ADAM> and kOptimizer32bit2State<ADAM> as IEEE float
// operations in source order. So every multiply, add, divide and square root here is an
// explicit round-to-nearest intrinsic (__fmul_rn, __fadd_rn, __fdiv_rn, __fsqrt_rn): nvcc would
// otherwise contract a·b + c into one FMA (one rounding instead of two) and bitsandbytes' own
// --use_fast_math build would approximate the divisions.
//
// Layout: one warp per 256-element quantization block (bitsandbytes' BLOCKSIZE_2STATE), lane l
// owning elements 128·k + 4·l + {0..3} (k = 0, 1): every f32 access of the warp is a contiguous
// 512-byte float4 row and every code access a contiguous 128-byte u32 row. The new absmax is the
// block's max |m| (|v|) by a shuffle tree of fmaxf; max is exact and fmaxf drops NaNs in any
// order, so the result equals the CPU's sequential fold. Codes are found by bitsandbytes'
// 7-step binary search over the map in shared memory (Blockwise8bit.quantizeValue).
//
// Memory-bound by design: per element p read + write, g read, two codes read + write:
// 16 bytes (+ 16/256 of absmax), against 28 for fp32-state AdamW.
#include "adamw8bit.cuh"
#include "launch.cuh"

#include <cfloat>

namespace jlora {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;
constexpr int kPerLane = kAdam8bitBlock / 32;  // 8 elements: two float4 rows

// Blockwise8bit.quantizeValue (bitsandbytes' dQuantize / quantize_2D search), line for line;
// a NaN falls through to code 0 as there.
__device__ __forceinline__ int quantize_value(const float* code, float x) {
    int pivot = 127, upper_pivot = 255, lower_pivot = 0;
    float lower = -1.0f, upper = 1.0f;
    float val = code[pivot];
#pragma unroll
    for (int i = 64; i > 0; i >>= 1) {
        if (x > val) {
            lower_pivot = pivot;
            lower = val;
            pivot += i;
        } else {
            upper_pivot = pivot;
            upper = val;
            pivot -= i;
        }
        val = code[pivot];
    }
    if (upper_pivot == 255) upper = code[upper_pivot];
    if (lower_pivot == 0) lower = code[lower_pivot];
    if (x > val) {
        const float midpoint = __fmul_rn(__fadd_rn(upper, val), 0.5f);
        return x > midpoint ? upper_pivot : pivot;
    }
    const float midpoint = __fmul_rn(__fadd_rn(lower, val), 0.5f);
    return x < midpoint ? lower_pivot : pivot;
}

// The same search over the map stored in Eytzinger (BFS heap) order, eyt[h] for h in 1..255 and
// the node's in-order rank t(h) = (2k + 1) · 2^(8 − s) at level s, k = h − 2^(s − 1), so that
// eyt[h] = code[t(h) − 1]. The search compares the same values in the same order (same result, bit
// for bit), but its loads change bank: with the sorted table every pivot of one level shares the
// low index bits (levels 3-8 hit 4-8-way bank conflicts), in heap order a level's nodes are
// consecutive (levels 1-6 conflict-free, 7 at most 2-way).
__device__ __forceinline__ int eytzinger_slot_source(int h) {
    if (h == 0) return 255;  // slot 0 is unused by the search; keep code[255] there
    const int s = 32 - __clz(h);
    const int k = h - (1 << (s - 1));
    return ((2 * k + 1) << (8 - s)) - 1;
}

__device__ __forceinline__ int quantize_value_eytzinger(const float* eyt, float code0, float code255, float x) {
    int pivot = 127, upper_pivot = 255, lower_pivot = 0, h = 1;
    float lower = -1.0f, upper = 1.0f;
    float val = eyt[1];
#pragma unroll
    for (int i = 64; i > 0; i >>= 1) {
        if (x > val) {
            lower_pivot = pivot;
            lower = val;
            pivot += i;
            h = 2 * h + 1;
        } else {
            upper_pivot = pivot;
            upper = val;
            pivot -= i;
            h = 2 * h;
        }
        val = eyt[h];
    }
    if (upper_pivot == 255) upper = code255;
    if (lower_pivot == 0) lower = code0;
    if (x > val) {
        const float midpoint = __fmul_rn(__fadd_rn(upper, val), 0.5f);
        return x > midpoint ? upper_pivot : pivot;
    }
    const float midpoint = __fmul_rn(__fadd_rn(lower, val), 0.5f);
    return x < midpoint ? lower_pivot : pivot;
}

// The same search written with selects only (variants 4-6): in bitsandbytes' if/else form the
// lanes of a warp branch apart at every level (459 branches in the variant-0 PTX), and each
// divergent branch costs a reconvergence; here every level is a compare, five selects and a load.
// The compared values, their order and the returned index are unchanged.
template <bool kEytzinger>
__device__ __forceinline__ int quantize_select(const float* table, float code0, float code255, float x) {
    int pivot = 127, upper_pivot = 255, lower_pivot = 0, h = 1;
    float lower = -1.0f, upper = 1.0f;
    float val = kEytzinger ? table[1] : table[127];
#pragma unroll
    for (int i = 64; i > 0; i >>= 1) {
        const bool gt = x > val;
        lower_pivot = gt ? pivot : lower_pivot;
        lower = gt ? val : lower;
        upper_pivot = gt ? upper_pivot : pivot;
        upper = gt ? upper : val;
        pivot = gt ? pivot + i : pivot - i;
        h = 2 * h + (gt ? 1 : 0);
        val = kEytzinger ? table[h] : table[pivot];
    }
    upper = upper_pivot == 255 ? code255 : upper;
    lower = lower_pivot == 0 ? code0 : lower;
    const bool gt = x > val;
    const float midpoint = __fmul_rn(__fadd_rn(gt ? upper : lower, val), 0.5f);
    const bool moves = gt ? x > midpoint : x < midpoint;
    return moves ? (gt ? upper_pivot : lower_pivot) : pivot;
}

struct Derived {
    float omb1, omb2, decay, eps_c2;
    bool decayed;
};

// As AdamW8bit's locals: 1 − β1, 1 − β2, 1 − lr·wd, c2·eps, each one float operation.
__device__ __forceinline__ Derived derive(const Adam8bitScalars& s) {
    return Derived{__fsub_rn(1.0f, s.beta1), __fsub_rn(1.0f, s.beta2), __fsub_rn(1.0f, __fmul_rn(s.lr, s.weight_decay)),
                   __fmul_rn(s.correction2, s.eps), s.weight_decay > 0.0f};
}

// p + step_size · (m / (sqrt(v) + eps·c2)), then the decay.
__device__ __forceinline__ float adam_param(float p, float m, float v, const Adam8bitScalars& s, const Derived& d) {
    p = __fadd_rn(p, __fmul_rn(s.step_size, __fdiv_rn(m, __fadd_rn(__fsqrt_rn(v), d.eps_c2))));
    return d.decayed ? __fmul_rn(p, d.decay) : p;
}

// The new moments of one element from its gradient (already scaled) and old codes; a non-finite
// gradient zeroes both, as bitsandbytes does.
template <bool kSelect>
__device__ __forceinline__ void moments(float gi, uint32_t q1, uint32_t q2, float absmax1, float absmax2,
                                        const float* code1, const float* code2, const Adam8bitScalars& s,
                                        const Derived& d, float& m, float& v) {
    if (kSelect) {
        const float vo = __fmul_rn(code2[q2], absmax2);
        const float vn = __fadd_rn(__fmul_rn(vo, s.beta2), __fmul_rn(__fmul_rn(d.omb2, gi), gi));
        const float mo = __fmul_rn(code1[q1], absmax1);
        const float mn = __fadd_rn(__fmul_rn(mo, s.beta1), __fmul_rn(d.omb1, gi));
        const bool finite = isfinite(gi);
        m = finite ? mn : 0.0f;
        v = finite ? vn : 0.0f;
        return;
    }
    if (isfinite(gi)) {
        const float vo = __fmul_rn(code2[q2], absmax2);
        v = __fadd_rn(__fmul_rn(vo, s.beta2), __fmul_rn(__fmul_rn(d.omb2, gi), gi));
        const float mo = __fmul_rn(code1[q1], absmax1);
        m = __fadd_rn(__fmul_rn(mo, s.beta1), __fmul_rn(d.omb1, gi));
    } else {
        m = 0.0f;
        v = 0.0f;
    }
}

// kRecompute (variant 1): the second pass recomputes each element's moments (the same operations,
// so the same bits) instead of keeping 16 of them in registers across the block's max reduction:
// ~10 more instructions per element for fewer registers and more resident warps.
// kEytzinger (variants 2, 3): the code search over heap-ordered copies of the maps.
// One warp's 256-element block as its lanes hold it: elements 128·k + 4·lane + j of the block.
struct Tile {
    float g[kPerLane], p[kPerLane];
    uint32_t c1[2], c2[2];  // four codes per word, element j in byte j
    float a1, a2;
};

__device__ __forceinline__ void load_tile(const float* __restrict__ param, const float* __restrict__ grad,
                                          const Adam8bitState& st, int64_t n, int64_t blk, int lane, Tile& t) {
    const int64_t base = blk * kAdam8bitBlock;
    t.a1 = st.a1[blk];
    t.a2 = st.a2[blk];
    if (base + kAdam8bitBlock <= n) {
#pragma unroll
        for (int k = 0; k < 2; k++) {
            const int64_t e = base + k * 128 + lane * 4;
            const float4 g4 = *reinterpret_cast<const float4*>(grad + e);
            const float4 p4 = *reinterpret_cast<const float4*>(param + e);
            t.g[4 * k] = g4.x, t.g[4 * k + 1] = g4.y, t.g[4 * k + 2] = g4.z, t.g[4 * k + 3] = g4.w;
            t.p[4 * k] = p4.x, t.p[4 * k + 1] = p4.y, t.p[4 * k + 2] = p4.z, t.p[4 * k + 3] = p4.w;
            t.c1[k] = *reinterpret_cast<const uint32_t*>(st.q1 + e);
            t.c2[k] = *reinterpret_cast<const uint32_t*>(st.q2 + e);
        }
        return;
    }
#pragma unroll
    for (int k = 0; k < 2; k++) {
        t.c1[k] = t.c2[k] = 0;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int64_t e = base + k * 128 + lane * 4 + j;
            const bool in = e < n;
            t.g[4 * k + j] = in ? grad[e] : 0.0f;
            t.p[4 * k + j] = in ? param[e] : 0.0f;
            t.c1[k] |= uint32_t(in ? st.q1[e] : 0) << (8 * j);
            t.c2[k] |= uint32_t(in ? st.q2[e] : 0) << (8 * j);
        }
    }
}

// kSelect (variants 4-6): the search, the non-finite-gradient rule, the parameter update and the
// sign fix as selects instead of branches (same values: the discarded side is computed and dropped).
// kPrefetch (variant 9): software pipelining, the next block's loads issued before this one's math.
template <bool kRecompute, bool kEytzinger, bool kSelect = false, bool kPrefetch = false>
__global__ void __launch_bounds__(kThreads)
adamw8bit_kernel(float* __restrict__ param, const float* __restrict__ grad, Adam8bitState st, int64_t n,
                 Adam8bitScalars s, const float* __restrict__ grad_scale, const float* __restrict__ signed_code,
                 const float* __restrict__ unsigned_code) {
    __shared__ float code1[256];
    __shared__ float code2[256];
    __shared__ float eyt1[kEytzinger || kSelect ? 256 : 1];
    __shared__ float eyt2[kEytzinger || kSelect ? 256 : 1];
    code1[threadIdx.x] = signed_code[threadIdx.x];
    code2[threadIdx.x] = unsigned_code[threadIdx.x];
    if (kEytzinger || kSelect) {
        const int from = eytzinger_slot_source(threadIdx.x);
        eyt1[threadIdx.x] = signed_code[from];
        eyt2[threadIdx.x] = unsigned_code[from];
    }
    __syncthreads();
    const float c1_first = code1[0], c1_last = code1[255], c2_first = code2[0], c2_last = code2[255];
    const Derived d = derive(s);
    const float gs = grad_scale ? *grad_scale : 1.0f;
    const int lane = threadIdx.x & 31;
    const int64_t blocks = (n + kAdam8bitBlock - 1) / kAdam8bitBlock;
    const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;

    const int64_t first_blk = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5);
    Tile next;
    if (kPrefetch && first_blk < blocks) load_tile(param, grad, st, n, first_blk, lane, next);
    for (int64_t blk = first_blk; blk < blocks; blk += warps) {
        const int64_t base = blk * kAdam8bitBlock;
        const bool whole = base + kAdam8bitBlock <= n;
        Tile t;
        if (kPrefetch) {
            t = next;
            // the warp's next block is loaded while this one computes (variant 9)
            if (blk + warps < blocks) load_tile(param, grad, st, n, blk + warps, lane, next);
        } else {
            load_tile(param, grad, st, n, blk, lane, t);
        }
        float* g = t.g;
        float* p = t.p;
        const uint32_t* c1 = t.c1;
        const uint32_t* c2 = t.c2;
        const float absmax1 = t.a1, absmax2 = t.a2;

        // Pass 1: the new moments and the block's max |m|, max |v|.
        float m[kPerLane], v[kPerLane];
        float max1 = -FLT_MAX, max2 = -FLT_MAX;
#pragma unroll
        for (int i = 0; i < kPerLane; i++) {
            const int64_t e = base + (i / 4) * 128 + lane * 4 + (i % 4);
            if (grad_scale) g[i] = __fmul_rn(g[i], gs);
            moments<kSelect>(g[i], (c1[i / 4] >> (8 * (i % 4))) & 0xFFu, (c2[i / 4] >> (8 * (i % 4))) & 0xFFu, absmax1, absmax2,
                    code1, code2, s, d, m[i], v[i]);
            if (kSelect) {
                max1 = fmaxf(max1, e < n ? fabsf(m[i]) : -FLT_MAX);
                max2 = fmaxf(max2, e < n ? fabsf(v[i]) : -FLT_MAX);
            } else if (e < n) {
                max1 = fmaxf(max1, fabsf(m[i]));
                max2 = fmaxf(max2, fabsf(v[i]));
            }
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            max1 = fmaxf(max1, __shfl_xor_sync(0xFFFFFFFFu, max1, o));
            max2 = fmaxf(max2, __shfl_xor_sync(0xFFFFFFFFu, max2, o));
        }
        if (lane == 0) {
            st.a1[blk] = max1;
            st.a2[blk] = max2;
        }

        // Pass 2: parameters from the fp32 moments, then the moments requantized by the new absmax.
#pragma unroll
        for (int k = 0; k < 2; k++) {
            uint32_t o1 = 0, o2 = 0;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int i = 4 * k + j;
                float mi = m[i], vi = v[i];
                if (kRecompute) {
                    moments<kSelect>(g[i], (c1[k] >> (8 * j)) & 0xFFu, (c2[k] >> (8 * j)) & 0xFFu, absmax1, absmax2, code1, code2,
                            s, d, mi, vi);
                }
                int q1, q2;
                if (kSelect) {
                    const float updated = adam_param(p[i], mi, vi, s, d);
                    p[i] = isfinite(g[i]) ? updated : p[i];
                    if (kEytzinger) {
                        q1 = quantize_select<true>(eyt1, c1_first, c1_last, __fdiv_rn(mi, max1));
                        q2 = quantize_select<true>(eyt2, c2_first, c2_last, __fdiv_rn(vi, max2));
                    } else {
                        q1 = quantize_select<false>(code1, c1_first, c1_last, __fdiv_rn(mi, max1));
                        q2 = quantize_select<false>(code2, c2_first, c2_last, __fdiv_rn(vi, max2));
                    }
                    const bool flip = signbit(code1[q1]) != signbit(mi);
                    q1 = flip ? (q1 + (mi > 0.0f ? 1 : -1)) & 0xFF : q1;
                } else {
                if (isfinite(g[i])) p[i] = adam_param(p[i], mi, vi, s, d);
                if (kEytzinger) {
                    q1 = quantize_value_eytzinger(eyt1, c1_first, c1_last, __fdiv_rn(mi, max1));
                    q2 = quantize_value_eytzinger(eyt2, c2_first, c2_last, __fdiv_rn(vi, max2));
                } else {
                    q1 = quantize_value(code1, __fdiv_rn(mi, max1));
                    q2 = quantize_value(code2, __fdiv_rn(vi, max2));
                }
                // keep m's sign through quantization (v is never negative)
                if (signbit(code1[q1]) != signbit(mi)) q1 = (q1 + (mi > 0.0f ? 1 : -1)) & 0xFF;
                }
                o1 |= uint32_t(q1) << (8 * j);
                o2 |= uint32_t(q2) << (8 * j);
            }
            const int64_t e = base + k * 128 + lane * 4;
            if (whole) {
                *reinterpret_cast<float4*>(param + e) = make_float4(p[4 * k], p[4 * k + 1], p[4 * k + 2], p[4 * k + 3]);
                *reinterpret_cast<uint32_t*>(st.q1 + e) = o1;
                *reinterpret_cast<uint32_t*>(st.q2 + e) = o2;
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    if (e + j < n) {
                        param[e + j] = p[4 * k + j];
                        st.q1[e + j] = uint8_t(o1 >> (8 * j));
                        st.q2[e + j] = uint8_t(o2 >> (8 * j));
                    }
                }
            }
        }
    }
}

__global__ void __launch_bounds__(kThreads)
adamw_bnb32_kernel(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m,
                   float* __restrict__ v, int64_t n, Adam8bitScalars s, const float* __restrict__ grad_scale) {
    const Derived d = derive(s);
    const float gs = grad_scale ? *grad_scale : 1.0f;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const float g = grad_scale ? __fmul_rn(grad[i], gs) : grad[i];
        const float s1 = __fadd_rn(__fmul_rn(m[i], s.beta1), __fmul_rn(d.omb1, g));
        const float s2 = __fadd_rn(__fmul_rn(v[i], s.beta2), __fmul_rn(d.omb2, __fmul_rn(g, g)));
        param[i] = adam_param(param[i], s1, s2, s, d);
        m[i] = s1;
        v[i] = s2;
    }
}

}  // namespace

namespace {

// Variants 7, 8: a persistent grid (multiprocessors × resident blocks, queried once per device and
// kernel; a benign race). The covering grid is capped at 65535 blocks, so each block does only
// one or two 256-element iterations per warp after loading the two maps into shared memory and
// synchronizing: that prologue is paid ~65 000 times per step. Persistent blocks pay it ~400 times.
template <auto kernel>
cudaError_t launch_persistent(float* param, const float* grad, const Adam8bitState& st, int64_t n,
                              const Adam8bitScalars& s, const float* grad_scale, const float* signed_code,
                              const float* unsigned_code, cudaStream_t stream) {
    static unsigned resident[64];
    int device = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err != cudaSuccess) return err;
    unsigned full = device < 64 ? resident[device] : 0;
    if (full == 0) {
        int sms = 0, per_sm = 0;
        err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
        if (err != cudaSuccess) return err;
        err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0);
        if (err != cudaSuccess) return err;
        full = unsigned(sms) * unsigned(per_sm > 0 ? per_sm : 1);
        if (device < 64) resident[device] = full;
    }
    const unsigned need = grid_for((n + kAdam8bitBlock - 1) / kAdam8bitBlock, kWarpsPerBlock);
    kernel<<<need < full ? need : full, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale, signed_code,
                                                               unsigned_code);
    return cudaGetLastError();
}

}  // namespace

cudaError_t adamw8bit_step(float* param, const float* grad, const Adam8bitState& st, int64_t n,
                           const Adam8bitScalars& s, const float* grad_scale, const float* signed_code,
                           const float* unsigned_code, cudaStream_t stream, int variant) {
    if (n <= 0) return cudaSuccess;
    const int64_t blocks = (n + kAdam8bitBlock - 1) / kAdam8bitBlock;
    const unsigned grid = grid_for(blocks, kWarpsPerBlock);
    if (variant == 7) {
        return launch_persistent<adamw8bit_kernel<false, false, true>>(param, grad, st, n, s, grad_scale, signed_code,
                                                                       unsigned_code, stream);
    }
    if (variant == 9) {
        return launch_persistent<adamw8bit_kernel<false, false, true, true>>(param, grad, st, n, s, grad_scale,
                                                                             signed_code, unsigned_code, stream);
    }
    if (variant == 8) {
        return launch_persistent<adamw8bit_kernel<false, false, false>>(param, grad, st, n, s, grad_scale, signed_code,
                                                                        unsigned_code, stream);
    }
    switch (variant) {
        case 1:
            adamw8bit_kernel<true, false><<<grid, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale, signed_code,
                                                                        unsigned_code);
            break;
        case 2:
            adamw8bit_kernel<false, true><<<grid, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale, signed_code,
                                                                        unsigned_code);
            break;
        case 3:
            adamw8bit_kernel<true, true><<<grid, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale, signed_code,
                                                                       unsigned_code);
            break;
        case 4:
            adamw8bit_kernel<false, false, true><<<grid, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale,
                                                                               signed_code, unsigned_code);
            break;
        case 5:
            adamw8bit_kernel<false, true, true><<<grid, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale,
                                                                              signed_code, unsigned_code);
            break;
        case 6:
            adamw8bit_kernel<true, true, true><<<grid, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale,
                                                                             signed_code, unsigned_code);
            break;
        default:
            adamw8bit_kernel<false, false><<<grid, kThreads, 0, stream>>>(param, grad, st, n, s, grad_scale, signed_code,
                                                                         unsigned_code);
    }
    return cudaGetLastError();
}

cudaError_t adamw_bnb32_step(float* param, const float* grad, float* m, float* v, int64_t n,
                             const Adam8bitScalars& s, const float* grad_scale, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    adamw_bnb32_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(param, grad, m, v, n, s, grad_scale);
    return cudaGetLastError();
}

}  // namespace jlora
