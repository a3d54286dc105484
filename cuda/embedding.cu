// Embedding gather (forward) and scatter-add (backward) over f32.
//
// Matches jlora.backend.cpu.CpuElementwise#embedding / #embeddingBackward exactly
// (EmbeddingKernelsTest compares bits): the forward copies rows; the backward adds dout rows
// into dtable in token order, one thread per column, which is the CPU's order of additions
// for every element, so the sums are bit-identical and the same on every run (no float
// atomics). That serial token loop is the price: fine for the rare trained embedding, to be
// replaced by a sort-by-id segmented sum if it ever shows in a profile.
//
// The table and the gathered rows are f32 or bf16 (both the same type: a copy, exact); the
// backward takes dout in either type and accumulates into an f32 dtable (the trained copy).
//
// Forward: one block per token, threads over the row with 16-byte accesses when dim % 4 == 0
// and the pointers are aligned. A bad id becomes a zero row plus a 64-bit atomicMin of (position, id)
// (integers: deterministic, the lowest position wins), which the launcher in native/ turns into an error.
#include "embedding.cuh"
#include "elem.cuh"
#include "launch.cuh"

namespace jlora {
namespace {

constexpr int kThreads = 256;

// T is float or uint16_t (bf16 bits): rows are copied, so bf16 needs no arithmetic.
template <typename T>
__global__ void __launch_bounds__(kThreads)
gather_kernel(const T* __restrict__ table, const int32_t* __restrict__ ids, int64_t vocab, int64_t dim, bool vec,
              T* __restrict__ out, uint64_t* __restrict__ bad) {
    const int64_t t = blockIdx.x;
    const int32_t id = ids[t];
    const bool ok = id >= 0 && id < vocab;
    if (!ok && threadIdx.x == 0) {
        atomicMin(reinterpret_cast<unsigned long long*>(bad), (uint64_t(t) << 32) | uint32_t(id));
    }
    T* dst = out + t * dim;
    const T* src = table + (ok ? int64_t(id) : 0) * dim;
    if (vec) {  // 16-byte chunks: dim * sizeof(T) % 16 == 0
        const int64_t chunks = dim * int64_t(sizeof(T)) / 16;
        for (int64_t i = threadIdx.x; i < chunks; i += blockDim.x) {
            reinterpret_cast<uint4*>(dst)[i] = ok ? reinterpret_cast<const uint4*>(src)[i] : make_uint4(0, 0, 0, 0);
        }
    } else {
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dst[i] = ok ? src[i] : T(0);
    }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
scatter_add_kernel(const int32_t* __restrict__ ids, const T* __restrict__ dout, int64_t tokens, int64_t vocab,
                   int64_t dim, float* __restrict__ dtable) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= dim) return;
    for (int64_t t = 0; t < tokens; t++) {
        const int32_t id = ids[t];
        if (id < 0 || id >= vocab) continue;
        dtable[int64_t(id) * dim + i] += ld(dout, t * dim + i);
    }
}

__global__ void reset_bad_kernel(uint64_t* bad) { *bad = ~uint64_t(0); }

template <typename T>
cudaError_t forward(const T* table, const int32_t* ids, int64_t tokens, int64_t vocab, int64_t dim, T* out,
                    uint64_t* bad, cudaStream_t stream) {
    if (tokens <= 0) return cudaSuccess;
    const bool vec = dim * int64_t(sizeof(T)) % 16 == 0 && is_aligned16(table) && is_aligned16(out);
    gather_kernel<<<unsigned(tokens), kThreads, 0, stream>>>(table, ids, vocab, dim, vec, out, bad);
    return cudaGetLastError();
}

template <typename T>
cudaError_t backward(const int32_t* ids, const T* dout, int64_t tokens, int64_t vocab, int64_t dim, float* dtable,
                     cudaStream_t stream) {
    if (tokens <= 0 || dim <= 0) return cudaSuccess;
    scatter_add_kernel<<<grid_for(dim, kThreads), kThreads, 0, stream>>>(ids, dout, tokens, vocab, dim, dtable);
    return cudaGetLastError();
}

}  // namespace

cudaError_t embedding_reset_bad(uint64_t* bad, cudaStream_t stream) {
    reset_bad_kernel<<<1, 1, 0, stream>>>(bad);
    return cudaGetLastError();
}

cudaError_t embedding_forward(const float* table, const int32_t* ids, int64_t tokens, int64_t vocab, int64_t dim,
                              float* out, uint64_t* bad, cudaStream_t stream) {
    return forward(table, ids, tokens, vocab, dim, out, bad, stream);
}

cudaError_t embedding_forward(const uint16_t* table, const int32_t* ids, int64_t tokens, int64_t vocab, int64_t dim,
                              uint16_t* out, uint64_t* bad, cudaStream_t stream) {
    return forward(table, ids, tokens, vocab, dim, out, bad, stream);
}

cudaError_t embedding_backward(const int32_t* ids, const float* dout, int64_t tokens, int64_t vocab, int64_t dim,
                               float* dtable, cudaStream_t stream) {
    return backward(ids, dout, tokens, vocab, dim, dtable, stream);
}

cudaError_t embedding_backward(const int32_t* ids, const uint16_t* dout, int64_t tokens, int64_t vocab, int64_t dim,
                               float* dtable, cudaStream_t stream) {
    return backward(ids, dout, tokens, vocab, dim, dtable, stream);
}

}  // namespace jlora
