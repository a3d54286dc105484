// C ABI over cuda/rms_norm.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/rms_norm.cuh"

namespace {

// rows: one block each (grid.x < 2^31); slices of the dWeight pass on grid.y (< 65536).
bool bad_shape(int64_t rows, int64_t dim) {
    return rows < 0 || dim <= 0 || rows > 0x7FFFFFFF ||
           (rows + jlora::kRmsRowsPerSlice - 1) / jlora::kRmsRowsPerSlice > 65535;
}

}  // namespace

extern "C" {

int jl_rms_norm_forward(const void* x, const float* weight, float eps, int64_t rows, int64_t dim, void* out,
                        float* rstd, int32_t dtype, void* stream) {
    if (int rc = jlora::check_dtype("jl_rms_norm_forward", dtype)) return rc;
    if (bad_shape(rows, dim)) return jlora::fail_argument("jl_rms_norm_forward: rows must be in [0, 4194240], dim positive");
    if (rows > 0 && (!x || !weight || !out || !rstd)) return jlora::fail_argument("jl_rms_norm_forward: null pointer");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dtype == JL_DTYPE_BF16) {
        JL_CHECK(jlora::rms_norm_forward(static_cast<const uint16_t*>(x), weight, eps, rows, dim,
                                         static_cast<uint16_t*>(out), rstd, s));
    } else {
        JL_CHECK(jlora::rms_norm_forward(static_cast<const float*>(x), weight, eps, rows, dim, static_cast<float*>(out),
                                         rstd, s));
    }
    return JL_OK;
}

int64_t jl_rms_norm_workspace_bytes(int64_t rows, int64_t dim) {
    if (bad_shape(rows, dim)) return -1;
    return 4 * jlora::rms_norm_workspace_floats(rows, dim);
}

int jl_rms_norm_backward(const void* dout, const void* x, const float* weight, const float* rstd, int64_t rows,
                         int64_t dim, void* dx, float* dweight, float* workspace, int32_t dtype, void* stream) {
    if (int rc = jlora::check_dtype("jl_rms_norm_backward", dtype)) return rc;
    if (bad_shape(rows, dim)) return jlora::fail_argument("jl_rms_norm_backward: rows must be in [0, 4194240], dim positive");
    if (rows > 0 && (!dout || !x || !weight || !rstd || !dx || (dweight && !workspace))) {
        return jlora::fail_argument("jl_rms_norm_backward: null pointer (workspace is needed with dweight)");
    }
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dtype == JL_DTYPE_BF16) {
        JL_CHECK(jlora::rms_norm_backward(static_cast<const uint16_t*>(dout), static_cast<const uint16_t*>(x), weight,
                                          rstd, rows, dim, static_cast<uint16_t*>(dx), dweight, workspace, s));
    } else {
        JL_CHECK(jlora::rms_norm_backward(static_cast<const float*>(dout), static_cast<const float*>(x), weight, rstd,
                                          rows, dim, static_cast<float*>(dx), dweight, workspace, s));
    }
    return JL_OK;
}

}  // extern "C"
