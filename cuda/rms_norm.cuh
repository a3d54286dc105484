// Launchers of cuda/rms_norm.cu, called from native/rms_norm.cpp.
#ifndef JLORA_RMS_NORM_CUH
#define JLORA_RMS_NORM_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// Rows of dWeight partial sums per workspace slice (backward pass 1).
constexpr int64_t kRmsRowsPerSlice = 64;

inline int64_t rms_norm_workspace_floats(int64_t rows, int64_t dim) {
    return (rows + kRmsRowsPerSlice - 1) / kRmsRowsPerSlice * dim;
}

// Activations f32 or bf16 (uint16_t bits); weight, rstd, dweight and workspace f32.
cudaError_t rms_norm_forward(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                             float* out, float* rstd, cudaStream_t stream);
cudaError_t rms_norm_forward(const uint16_t* x, const float* weight, float eps, int64_t rows, int64_t dim,
                             uint16_t* out, float* rstd, cudaStream_t stream);
// dweight may be null (no weight gradient); otherwise dweight += Σ_t g·x·r, workspace of
// rms_norm_workspace_floats(rows, dim) floats.
cudaError_t rms_norm_backward(const float* dout, const float* x, const float* weight, const float* rstd,
                              int64_t rows, int64_t dim, float* dx, float* dweight, float* workspace,
                              cudaStream_t stream);
cudaError_t rms_norm_backward(const uint16_t* dout, const uint16_t* x, const float* weight, const float* rstd,
                              int64_t rows, int64_t dim, uint16_t* dx, float* dweight, float* workspace,
                              cudaStream_t stream);

}  // namespace jlora

#endif
