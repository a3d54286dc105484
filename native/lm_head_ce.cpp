// C ABI over cuda/lm_head_ce.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/lm_head_ce.cuh"

namespace {
inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
}  // namespace

extern "C" {

int jl_lmce_gather_rows(const void* src, int32_t src_dtype, int64_t ld, const int32_t* rows, int64_t n, int64_t cols,
                      uint16_t* dst, void* stream) {
    int rc = jlora::check_dtype("jl_lmce_gather_rows", src_dtype);
    if (rc != JL_OK) return rc;
    if (n < 0 || cols < 0 || ld < cols || (n > 0 && cols > 0 && (!src || !rows || !dst))) {
        return jlora::fail_argument("jl_lmce_gather_rows: null pointer, negative size or ld < cols");
    }
    JL_CHECK(jlora::lmce_gather_rows(src, src_dtype == JL_DTYPE_BF16, ld, rows, n, cols, dst, as_stream(stream)));
    return JL_OK;
}

int jl_lmce_chunk_forward(const float* logits, int64_t ld, const int32_t* targets, int64_t n, int64_t cols, int64_t v0,
                        int32_t first, float* state, void* stream) {
    if (n < 0 || cols <= 0 || ld < cols || v0 < 0 || (n > 0 && (!logits || !targets || !state))) {
        return jlora::fail_argument("jl_lmce_chunk_forward: null pointer, bad size or ld < cols");
    }
    JL_CHECK(jlora::lmce_chunk_forward(logits, ld, targets, n, cols, v0, first != 0, state, as_stream(stream)));
    return JL_OK;
}

int jl_lmce_finalize(const float* state, const int32_t* rows, int64_t n, float* lse, float* loss, void* stream) {
    if (n < 0 || (n > 0 && (!state || !rows || !lse || !loss))) return jlora::fail_argument("jl_lmce_finalize: null pointer or negative n");
    JL_CHECK(jlora::lmce_finalize(state, rows, n, lse, loss, as_stream(stream)));
    return JL_OK;
}

int jl_lmce_chunk_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows, const float* lse,
                         int64_t n, int64_t cols, int64_t v0, float loss_scale, uint16_t* g, int64_t g_ld, void* stream) {
    if (n < 0 || cols <= 0 || ld < cols || g_ld < cols || v0 < 0 || (n > 0 && (!logits || !targets || !rows || !lse || !g))) {
        return jlora::fail_argument("jl_lmce_chunk_backward: null pointer, bad size or ld < cols");
    }
    JL_CHECK(jlora::lmce_chunk_backward(logits, ld, targets, rows, lse, n, cols, v0, loss_scale, g, g_ld, as_stream(stream)));
    return JL_OK;
}

int jl_lmce_scatter_rows(const float* src, int64_t n, int64_t cols, const int32_t* rows, void* dst, int32_t dst_dtype,
                       int64_t ld, int32_t accumulate, void* stream) {
    int rc = jlora::check_dtype("jl_lmce_scatter_rows", dst_dtype);
    if (rc != JL_OK) return rc;
    if (n < 0 || cols < 0 || ld < cols || (n > 0 && cols > 0 && (!src || !rows || !dst))) {
        return jlora::fail_argument("jl_lmce_scatter_rows: null pointer, negative size or ld < cols");
    }
    JL_CHECK(jlora::lmce_scatter_rows(src, n, cols, rows, dst, dst_dtype == JL_DTYPE_BF16, ld, accumulate != 0,
                                    as_stream(stream)));
    return JL_OK;
}

int jl_lmce_rows_forward_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows, int64_t n,
                                int64_t vocab, float loss_scale, uint16_t* g, int64_t g_ld, float* lse, float* loss,
                                void* stream) {
    if (n < 0 || vocab <= 0 || ld < vocab || (g && g_ld < vocab) || (n > 0 && (!logits || !targets || !rows || !lse || !loss))) {
        return jlora::fail_argument("jl_lmce_rows_forward_backward: null pointer, bad size or ld < vocab");
    }
    JL_CHECK(jlora::lmce_rows_forward_backward(logits, ld, targets, rows, n, vocab, loss_scale, g, g_ld, lse, loss,
                                             as_stream(stream)));
    return JL_OK;
}

}  // extern "C"
