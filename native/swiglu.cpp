// C ABI over cuda/swiglu.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/swiglu.cuh"

extern "C" {

int jl_swiglu_forward(const void* gate, const void* up, int64_t n, void* out, int32_t dtype, void* stream) {
    if (int rc = jlora::check_dtype("jl_swiglu_forward", dtype)) return rc;
    if (n < 0 || (n > 0 && (!gate || !up || !out))) return jlora::fail_argument("jl_swiglu_forward: null pointer or negative n");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dtype == JL_DTYPE_BF16) {
        JL_CHECK(jlora::swiglu_forward_bf16(static_cast<const uint16_t*>(gate), static_cast<const uint16_t*>(up), n,
                                            static_cast<uint16_t*>(out), s));
    } else {
        JL_CHECK(jlora::swiglu_forward(static_cast<const float*>(gate), static_cast<const float*>(up), n,
                                       static_cast<float*>(out), s));
    }
    return JL_OK;
}

int jl_swiglu_backward(const void* dout, const void* gate, const void* up, int64_t n, void* dgate, void* dup,
                       int32_t dtype, void* stream) {
    if (int rc = jlora::check_dtype("jl_swiglu_backward", dtype)) return rc;
    if (n < 0 || (n > 0 && (!dout || !gate || !up || !dgate || !dup))) {
        return jlora::fail_argument("jl_swiglu_backward: null pointer or negative n");
    }
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dtype == JL_DTYPE_BF16) {
        JL_CHECK(jlora::swiglu_backward_bf16(static_cast<const uint16_t*>(dout), static_cast<const uint16_t*>(gate),
                                             static_cast<const uint16_t*>(up), n, static_cast<uint16_t*>(dgate),
                                             static_cast<uint16_t*>(dup), s));
    } else {
        JL_CHECK(jlora::swiglu_backward(static_cast<const float*>(dout), static_cast<const float*>(gate),
                                        static_cast<const float*>(up), n, static_cast<float*>(dgate),
                                        static_cast<float*>(dup), s));
    }
    return JL_OK;
}

}  // extern "C"
