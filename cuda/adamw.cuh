// Launchers of cuda/adamw.cu, called from native/adamw.cpp.
#ifndef JLORA_ADAMW_CUH
#define JLORA_ADAMW_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// Partial sums of the grad-norm reduction: the workspace holds this many floats.
constexpr int kGradNormBlocks = 1024;

// The step's scalars, formed on the host in double as torch does in Python
// (weight_decay_factor = 1 − lr·wd, step_size = lr / (1 − β1^t), bc2_sqrt = sqrt(1 − β2^t)).
struct AdamWScalars {
    float beta1;
    float beta2;
    float eps;
    float decay_factor;
    float step_size;
    float bc2_sqrt;
};

// One AdamW step over flat f32 param / grad / m / v of n elements; grad is multiplied by
// *grad_scale first when grad_scale is not null (the clip coefficient, on the device).
cudaError_t adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWScalars& s,
                       const float* grad_scale, cudaStream_t stream);
// out[0] = ||grad||₂ (fp32 sums in a fixed tree), out[1] = min(1, max_norm / (norm + 1e-6))
// (torch.nn.utils.clip_grad_norm_'s clip coefficient). workspace: kGradNormBlocks floats.
cudaError_t grad_norm(const float* grad, int64_t n, float max_norm, float* workspace, float* out,
                      cudaStream_t stream);

}  // namespace jlora

#endif
