// Internal: how native/*.cpp record a failure for jl_last_error().
#ifndef JLORA_STATUS_H
#define JLORA_STATUS_H

#include <cuda_runtime_api.h>

namespace jlora {

// Records "<what>: <cudaErrorName> (<description>)" and returns the status unchanged.
int fail_cuda(const char* what, cudaError_t err);
// Records "<what>" and returns JL_ERR_ARGUMENT.
int fail_argument(const char* what);
// Records "<what>" and returns JL_ERR_OUT_OF_RANGE.
int fail_range(const char* what);
void clear_error();
// JL_OK for JL_DTYPE_F32 / JL_DTYPE_BF16, else records "<fn>: dtype must be ..." (JL_ERR_ARGUMENT).
int check_dtype(const char* fn, int dtype);

}  // namespace jlora

// Runs a CUDA call; on failure records the call's text and returns its status.
#define JL_CHECK(call)                                                   \
    do {                                                                 \
        cudaError_t jl_err_ = (call);                                    \
        if (jl_err_ != cudaSuccess) return ::jlora::fail_cuda(#call, jl_err_); \
    } while (0)

#endif
