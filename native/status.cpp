#include "jlora_cuda.h"
#include "status.h"

#include <cstdio>

namespace {
// One message per thread: Java reads it right after the failing downcall on the same thread.
thread_local char last_error[512] = "";
}

namespace jlora {

int fail_cuda(const char* what, cudaError_t err) {
    std::snprintf(last_error, sizeof last_error, "%s: %s (%s)", what, cudaGetErrorName(err),
                  cudaGetErrorString(err));
    // The runtime also keeps this error as its "last error" until someone reads it; kernel
    // wrappers check launches with cudaGetLastError(), so a failed cudaMalloc left there would
    // be blamed on the next, healthy launch (seen on the H100: an OOM test, then an NF4 launch).
    // Reading it here clears it; sticky errors (a faulted context) stay whatever we do.
    cudaGetLastError();
    return static_cast<int>(err);
}

int fail_argument(const char* what) {
    std::snprintf(last_error, sizeof last_error, "%s", what);
    return JL_ERR_ARGUMENT;
}

int fail_range(const char* what) {
    std::snprintf(last_error, sizeof last_error, "%s", what);
    return JL_ERR_OUT_OF_RANGE;
}

int check_dtype(const char* fn, int dtype) {
    if (dtype == JL_DTYPE_F32 || dtype == JL_DTYPE_BF16) return JL_OK;
    std::snprintf(last_error, sizeof last_error, "%s: dtype must be 0 (f32) or 1 (bf16), got %d", fn, dtype);
    return JL_ERR_ARGUMENT;
}

void clear_error() { last_error[0] = '\0'; }

}  // namespace jlora

extern "C" const char* jl_last_error(void) { return last_error; }

extern "C" const char* jl_error_name(int status) {
    if (status == JL_OK) return "ok";
    if (status == JL_ERR_ARGUMENT) return "invalid argument";
    if (status == JL_ERR_OUT_OF_RANGE) return "out of range";
    return cudaGetErrorName(static_cast<cudaError_t>(status));
}
