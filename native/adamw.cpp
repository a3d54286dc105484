// C ABI over cuda/adamw.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/adamw.cuh"

#include <cmath>

extern "C" {

int jl_adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int64_t step, const float* grad_scale, void* stream) {
    if (n < 0 || (n > 0 && (!param || !grad || !m || !v))) return jlora::fail_argument("jl_adamw_step: null pointer or negative n");
    if (step < 1) return jlora::fail_argument("jl_adamw_step: step counts from 1");
    // torch forms these in Python floats (double) from the float hyperparameters.
    const double b1 = beta1, b2 = beta2, l = lr;
    jlora::AdamWScalars s{beta1, beta2, eps, static_cast<float>(1.0 - l * weight_decay),
                          static_cast<float>(l / (1.0 - std::pow(b1, double(step)))),
                          static_cast<float>(std::sqrt(1.0 - std::pow(b2, double(step))))};
    JL_CHECK(jlora::adamw_step(param, grad, m, v, n, s, grad_scale, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int64_t jl_grad_norm_workspace_bytes(void) { return 4 * int64_t(jlora::kGradNormBlocks); }

int jl_grad_norm(const float* grad, int64_t n, float max_norm, float* workspace, float* out, void* stream) {
    if (n < 0 || (n > 0 && !grad) || !workspace || !out) return jlora::fail_argument("jl_grad_norm: null pointer or negative n");
    JL_CHECK(jlora::grad_norm(grad, n, max_norm, workspace, out, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

}  // extern "C"
