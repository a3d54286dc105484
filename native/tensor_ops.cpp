// C ABI over cuda/tensor_ops.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/tensor_ops.cuh"

#define JL_S static_cast<cudaStream_t>(stream)

extern "C" {

JL_API int jl_add_f32(const float* a, const float* b, int64_t n, float* out, void* stream) {
    if (n < 0 || (n > 0 && (!a || !b || !out))) return jlora::fail_argument("jl_add_f32: null pointer or negative n");
    JL_CHECK(jlora::add_f32(a, b, n, out, JL_S));
    return JL_OK;
}

JL_API int jl_add_bias_rows(float* out, const float* bias, int64_t rows, int64_t cols, void* stream) {
    if (rows < 0 || cols < 0 || (rows > 0 && cols > 0 && (!out || !bias))) return jlora::fail_argument("jl_add_bias_rows: bad arguments");
    JL_CHECK(jlora::add_bias_rows(out, bias, rows, cols, JL_S));
    return JL_OK;
}

JL_API int jl_column_sums_add(const float* src, int64_t rows, int64_t cols, float* dst, void* stream) {
    if (rows < 0 || cols < 0 || (cols > 0 && (!dst || (rows > 0 && !src)))) return jlora::fail_argument("jl_column_sums_add: bad arguments");
    JL_CHECK(jlora::column_sums_add(src, rows, cols, dst, JL_S));
    return JL_OK;
}

JL_API int jl_dropout_apply(const float* x, int64_t n, float p, int64_t seed, float* out, void* stream) {
    if (n < 0 || (n > 0 && (!x || !out)) || !(p >= 0.0f && p < 1.0f)) return jlora::fail_argument("jl_dropout_apply: bad arguments");
    JL_CHECK(jlora::dropout_apply(x, n, p, seed, out, JL_S));
    return JL_OK;
}

JL_API int jl_dropout_add(const float* x, int64_t n, float p, int64_t seed, float* out, void* stream) {
    if (n < 0 || (n > 0 && (!x || !out)) || !(p >= 0.0f && p < 1.0f)) return jlora::fail_argument("jl_dropout_add: bad arguments");
    JL_CHECK(jlora::dropout_add(x, n, p, seed, out, JL_S));
    return JL_OK;
}

}  // extern "C"
