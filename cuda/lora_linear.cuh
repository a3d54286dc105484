// Launchers of cuda/lora_linear.cu, called from native/lora_linear.cpp.
#ifndef JLORA_LORA_LINEAR_CUH
#define JLORA_LORA_LINEAR_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// The dropout mask of jlora.backend.Dropout: element i is kept when the top 53 bits of
// SplitMix64(seed, i) are >= keep_threshold (= ceil(p · 2^53): the same test as uniform >= p),
// and a kept element is multiplied by keep_scale (= 1f / (1f - p)). keep_threshold 0 keeps all.
struct DropoutMask {
    uint64_t seed;
    uint64_t keep_threshold;
    float keep_scale;
    int64_t index_ld;  // mask index of element (r, c) is r * index_ld + c
};

// The factor of mask index i (host and device: jl_lora_dropout_factor_host tests it on the CPU).
__host__ __device__ __forceinline__ float dropout_factor(const DropoutMask& m, uint64_t i) {
    if (m.keep_threshold == 0) return 1.0f;
    uint64_t z = m.seed + (i + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (z >> 11) >= m.keep_threshold ? m.keep_scale : 0.0f;
}

// dst[r, c] (bf16, row stride dst_ld) = bf16(src[r, c] · mask(r, c) · scale), src f32 or bf16
// (src_bf16) with row stride src_ld.
cudaError_t lora_cast_rows(const void* src, bool src_bf16, int64_t src_ld, uint16_t* dst, int64_t dst_ld,
                           int64_t rows, int64_t cols, float scale, DropoutMask mask, cudaStream_t stream);

// dx[r, c] += mask(r, c) · tmp[r, c]; dx f32 or bf16 (row stride dx_ld), tmp f32 dense [rows, cols].
cudaError_t lora_dropout_add(void* dx, bool dx_bf16, int64_t dx_ld, const float* tmp, int64_t rows, int64_t cols,
                             DropoutMask mask, cudaStream_t stream);

// An NF4 base weight [rows, row_len] dequantized to bf16 into rows row_stride elements apart (the W
// block of the folded weight), bit-exact with jlora.quant.Nf4Tensor#dequantize(BF16) as
// cuda/nf4_dequant.cu is. Double quant when absmax_q is not null (absmax_f32 ignored). row_len a
// multiple of 8, row_stride a multiple of 8, out 16-byte aligned, blocksize a power of two >= 8.
struct Nf4RowsArgs {
    const uint8_t* packed;
    const float* absmax_f32;
    const uint8_t* absmax_q;
    const float* nested_absmax;
    const float* nested_code;
    float offset;
    int32_t blocksize;
    int32_t nested_blocksize;
    int64_t rows;
    int64_t row_len;
    int64_t row_stride;
    uint16_t* out;
};
cudaError_t lora_nf4_dequant_rows(const Nf4RowsArgs& a, cudaStream_t stream);

// y[r, c] += bias[c]; y f32 or bf16 (row stride ld), bias f32 [cols].
cudaError_t bias_add(void* y, bool y_bf16, int64_t ld, const float* bias, int64_t rows, int64_t cols,
                     cudaStream_t stream);

}  // namespace jlora

#endif
