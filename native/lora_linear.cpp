// C ABI over cuda/lora_linear.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/lora_linear.cuh"

#include <cstdint>

namespace {

jlora::DropoutMask mask_of(uint64_t seed, uint64_t keep_threshold, float keep_scale, int64_t index_ld) {
    return jlora::DropoutMask{seed, keep_threshold, keep_scale, index_ld};
}

bool bad_matrix(const void* p, int64_t ld, int64_t rows, int64_t cols) {
    return rows < 0 || cols < 0 || ld < cols || (rows > 0 && cols > 0 && !p);
}

}  // namespace

extern "C" {

int jl_lora_cast_rows(const void* src, int32_t src_dtype, int64_t src_ld, uint16_t* dst, int64_t dst_ld, int64_t rows,
                      int64_t cols, float scale, uint64_t seed, uint64_t keep_threshold, float keep_scale,
                      void* stream) {
    int rc = jlora::check_dtype("jl_lora_cast_rows", src_dtype);
    if (rc != JL_OK) return rc;
    if (bad_matrix(src, src_ld, rows, cols) || bad_matrix(dst, dst_ld, rows, cols)) {
        return jlora::fail_argument("jl_lora_cast_rows: null pointer, negative size or ld < cols");
    }
    JL_CHECK(jlora::lora_cast_rows(src, src_dtype == JL_DTYPE_BF16, src_ld, dst, dst_ld, rows, cols, scale,
                                   mask_of(seed, keep_threshold, keep_scale, cols), static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_lora_dropout_add(void* dx, int32_t dx_dtype, int64_t dx_ld, const float* tmp, int64_t rows, int64_t cols,
                        uint64_t seed, uint64_t keep_threshold, float keep_scale, void* stream) {
    int rc = jlora::check_dtype("jl_lora_dropout_add", dx_dtype);
    if (rc != JL_OK) return rc;
    if (bad_matrix(dx, dx_ld, rows, cols) || bad_matrix(tmp, cols, rows, cols)) {
        return jlora::fail_argument("jl_lora_dropout_add: null pointer, negative size or ld < cols");
    }
    JL_CHECK(jlora::lora_dropout_add(dx, dx_dtype == JL_DTYPE_BF16, dx_ld, tmp, rows, cols,
                                     mask_of(seed, keep_threshold, keep_scale, cols), static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_lora_nf4_dequant_rows(const uint8_t* packed, const float* absmax, const uint8_t* absmax_q,
                             const float* nested_absmax, const float* nested_code, float offset, int32_t nested_blocksize,
                             int32_t blocksize, int64_t rows, int64_t row_len, int64_t row_stride, uint16_t* out,
                             void* stream) {
    if (rows < 0 || row_len <= 0 || row_stride < row_len) {
        return jlora::fail_argument("jl_lora_nf4_dequant_rows: row_len must be positive and row_stride >= row_len");
    }
    if (blocksize <= 0) return jlora::fail_argument("jl_lora_nf4_dequant_rows: blocksize must be positive");
    bool nested = absmax_q != nullptr;
    if (rows > 0 && (!packed || !out || (nested ? (!nested_absmax || !nested_code || nested_blocksize <= 0) : !absmax))) {
        return jlora::fail_argument("jl_lora_nf4_dequant_rows: null packed / out, or missing absmax (plain) or codes /"
                                    " nested absmax / code book (double quant)");
    }
    jlora::Nf4RowsArgs a{packed, nested ? nullptr : absmax, absmax_q, nested_absmax, nested_code, offset, blocksize,
                         nested ? nested_blocksize : 1, rows, row_len, row_stride, out};
    JL_CHECK(jlora::lora_nf4_dequant_rows(a, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_bias_add(void* y, int32_t dtype, int64_t ld, const float* bias, int64_t rows, int64_t cols, void* stream) {
    int rc = jlora::check_dtype("jl_bias_add", dtype);
    if (rc != JL_OK) return rc;
    if (bad_matrix(y, ld, rows, cols) || (cols > 0 && rows > 0 && !bias)) {
        return jlora::fail_argument("jl_bias_add: null pointer, negative size or ld < cols");
    }
    JL_CHECK(jlora::bias_add(y, dtype == JL_DTYPE_BF16, ld, bias, rows, cols, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_lora_dropout_factor_host(uint64_t seed, uint64_t keep_threshold, float keep_scale, const int64_t* index, int64_t n,
                                float* out) {
    if (n < 0 || (n > 0 && (!index || !out))) return jlora::fail_argument("jl_lora_dropout_factor_host: null pointer or negative n");
    jlora::DropoutMask m = mask_of(seed, keep_threshold, keep_scale, 0);
    for (int64_t k = 0; k < n; k++) out[k] = jlora::dropout_factor(m, static_cast<uint64_t>(index[k]));
    return JL_OK;
}

}  // extern "C"
