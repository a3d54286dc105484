// C ABI over cuda/ce_chunk.cu (the chunked cross-entropy steps of the CUDA backend).
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/ce_chunk.cuh"

#define JL_S static_cast<cudaStream_t>(stream)

extern "C" {

JL_API int jl_ce_init(int64_t rows, float* m, float* s, float* tgt, void* stream) {
    if (rows < 0 || (rows > 0 && (!m || !s || !tgt))) return jlora::fail_argument("jl_ce_init: bad arguments");
    JL_CHECK(jlora::ce_init(rows, m, s, tgt, JL_S));
    return JL_OK;
}

JL_API int jl_ce_chunk_update(const float* logits, int64_t rows, int64_t cols, int64_t ld, int64_t col0,
                              const int32_t* targets, float* m, float* s, float* tgt, void* stream) {
    if (rows < 0 || cols < 0 || ld < cols || rows > 0x7FFFFFFF) return jlora::fail_argument("jl_ce_chunk_update: bad shape");
    if (rows > 0 && cols > 0 && (!logits || !targets || !m || !s || !tgt)) return jlora::fail_argument("jl_ce_chunk_update: null pointer");
    JL_CHECK(jlora::ce_chunk_update(logits, rows, cols, ld, col0, targets, m, s, tgt, JL_S));
    return JL_OK;
}

JL_API int jl_ce_finish(const float* m, const float* s, const float* tgt, const int32_t* targets, int64_t rows,
                        float* lse, double* sum_count, void* stream) {
    if (rows < 0 || !sum_count || (rows > 0 && (!m || !s || !tgt || !targets || !lse))) return jlora::fail_argument("jl_ce_finish: bad arguments");
    JL_CHECK(jlora::ce_finish(m, s, tgt, targets, rows, lse, sum_count, JL_S));
    return JL_OK;
}

JL_API int jl_ce_chunk_grad(float* logits, int64_t rows, int64_t cols, int64_t ld, int64_t col0, const int32_t* targets,
                            const float* lse, float scale, void* stream) {
    if (rows < 0 || cols < 0 || ld < cols) return jlora::fail_argument("jl_ce_chunk_grad: bad shape");
    if (rows > 0 && cols > 0 && (!logits || !targets || !lse)) return jlora::fail_argument("jl_ce_chunk_grad: null pointer");
    JL_CHECK(jlora::ce_chunk_grad(logits, rows, cols, ld, col0, targets, lse, scale, JL_S));
    return JL_OK;
}

}  // extern "C"
