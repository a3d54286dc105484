// C ABI over cuda/cast.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/cast.cuh"
#include "../cuda/bf16_bits.cuh"

extern "C" {

int jl_cast_f32_to_bf16(const float* src, uint16_t* dst, int64_t n, void* stream) {
    if (n < 0 || (n > 0 && (!src || !dst))) return jlora::fail_argument("jl_cast_f32_to_bf16: null pointer or negative n");
    JL_CHECK(jlora::cast_f32_to_bf16(src, dst, n, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_cast_bf16_to_f32(const uint16_t* src, float* dst, int64_t n, void* stream) {
    if (n < 0 || (n > 0 && (!src || !dst))) return jlora::fail_argument("jl_cast_bf16_to_f32: null pointer or negative n");
    JL_CHECK(jlora::cast_bf16_to_f32(src, dst, n, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_cast_f32_to_bf16_host(const float* src, uint16_t* dst, int64_t n) {
    if (n < 0 || (n > 0 && (!src || !dst))) return jlora::fail_argument("jl_cast_f32_to_bf16_host: null pointer or negative n");
    for (int64_t i = 0; i < n; i++) dst[i] = static_cast<uint16_t>(jlora::f32_to_bf16_bits(src[i]));
    return JL_OK;
}

}  // extern "C"
