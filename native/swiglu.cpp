// C ABI over cuda/swiglu.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/swiglu.cuh"

extern "C" {

int jl_swiglu_forward(const float* gate, const float* up, int64_t n, float* out, void* stream) {
    if (n < 0 || (n > 0 && (!gate || !up || !out))) return jlora::fail_argument("jl_swiglu_forward: null pointer or negative n");
    JL_CHECK(jlora::swiglu_forward(gate, up, n, out, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_swiglu_backward(const float* dout, const float* gate, const float* up, int64_t n, float* dgate, float* dup,
                       void* stream) {
    if (n < 0 || (n > 0 && (!dout || !gate || !up || !dgate || !dup))) {
        return jlora::fail_argument("jl_swiglu_backward: null pointer or negative n");
    }
    JL_CHECK(jlora::swiglu_backward(dout, gate, up, n, dgate, dup, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

}  // extern "C"
