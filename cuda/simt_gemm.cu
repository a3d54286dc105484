// A plain fp32 SIMT GEMM (no tensor cores): the correct fallback the CUDA backend's linear,
// LoRA and cross-entropy paths use until the cuBLAS GEMM is wired in. Operands f32 or bf16
// (widened exactly to fp32), fp32 FMA accumulation, C f32: every product is the CPU
// backend's (jlora.backend.cpu.CpuMatmul) up to summation order, so parity is fp32-close.
//
// Tiles: 64 × 64 of C per 256-thread block, K in steps of 16 through shared memory; each
// thread owns a 4 × 4 sub-grid at stride 16 (rows ty + 16i, cols tx + 16j) so that shared
// reads are conflict-free. Loads are mapped so that consecutive threads read consecutive
// addresses whichever way the operand is stored.
#include "simt_gemm.cuh"
#include "elem.cuh"

namespace jlora {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;

template <typename TA, typename TB>
__global__ void __launch_bounds__(kThreads)
gemm_kernel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const TA* __restrict__ A, int64_t lda,
            const TB* __restrict__ B, int64_t ldb, float beta, float* __restrict__ C, int64_t ldc) {
    __shared__ float As[kBK][kBM + 1];
    __shared__ float Bs[kBK][kBN + 1];
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int64_t m0 = int64_t(blockIdx.y) * kBM, n0 = int64_t(blockIdx.x) * kBN;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

    for (int64_t k0 = 0; k0 < K; k0 += kBK) {
#pragma unroll
        for (int r = 0; r < (kBM * kBK) / kThreads; r++) {
            const int e = tid + r * kThreads;
            int mm, kk;
            if (!ta) { mm = e / kBK; kk = e % kBK; } else { kk = e / kBM; mm = e % kBM; }
            const int64_t gm = m0 + mm, gk = k0 + kk;
            float v = 0.0f;
            if (gm < M && gk < K) v = ta ? ld(A, gk * lda + gm) : ld(A, gm * lda + gk);
            As[kk][mm] = v;
        }
#pragma unroll
        for (int r = 0; r < (kBN * kBK) / kThreads; r++) {
            const int e = tid + r * kThreads;
            int nn, kk;
            if (tb) { nn = e / kBK; kk = e % kBK; } else { kk = e / kBN; nn = e % kBN; }
            const int64_t gn = n0 + nn, gk = k0 + kk;
            float v = 0.0f;
            if (gn < N && gk < K) v = tb ? ld(B, gn * ldb + gk) : ld(B, gk * ldb + gn);
            Bs[kk][nn] = v;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kBK; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int64_t gm = m0 + ty + 16 * i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int64_t gn = n0 + tx + 16 * j;
            if (gn >= N) continue;
            float* p = C + gm * ldc + gn;
            const float v = alpha * acc[i][j];
            *p = beta == 0.0f ? v : fmaf(beta, *p, v);
        }
    }
}

template <typename TA, typename TB>
cudaError_t launch(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const void* a, int64_t lda,
                   const void* b, int64_t ldb, float beta, float* c, int64_t ldc, cudaStream_t stream) {
    const dim3 grid(static_cast<unsigned>((n + kBN - 1) / kBN), static_cast<unsigned>((m + kBM - 1) / kBM));
    gemm_kernel<TA, TB><<<grid, kThreads, 0, stream>>>(ta, tb, m, n, k, alpha, static_cast<const TA*>(a), lda,
                                                       static_cast<const TB*>(b), ldb, beta, c, ldc);
    return cudaGetLastError();
}

}  // namespace

cudaError_t simt_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const void* a,
                      bool a_bf16, int64_t lda, const void* b, bool b_bf16, int64_t ldb, float beta, float* c,
                      int64_t ldc, cudaStream_t stream) {
    if (m <= 0 || n <= 0) return cudaSuccess;
    if (a_bf16 && b_bf16) return launch<uint16_t, uint16_t>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
    if (a_bf16) return launch<uint16_t, float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
    if (b_bf16) return launch<float, uint16_t>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
    return launch<float, float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
}

}  // namespace jlora
