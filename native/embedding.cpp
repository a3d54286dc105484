// C ABI over cuda/embedding.cu.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/embedding.cuh"

#include <cstdio>

extern "C" {

int jl_embedding_forward(const void* table, const int32_t* ids, int64_t tokens, int64_t vocab, int64_t dim,
                         void* out, uint64_t* bad, int32_t dtype, void* stream) {
    if (int rc = jlora::check_dtype("jl_embedding_forward", dtype)) return rc;
    if (tokens < 0 || tokens > 0x7FFFFFFF || vocab <= 0 || dim <= 0) {
        return jlora::fail_argument("jl_embedding_forward: need tokens in [0, 2^31), vocab and dim positive");
    }
    if (tokens > 0 && (!table || !ids || !out || !bad)) return jlora::fail_argument("jl_embedding_forward: null pointer");
    if (tokens == 0) return JL_OK;
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    JL_CHECK(jlora::embedding_reset_bad(bad, s));
    if (dtype == JL_DTYPE_BF16) {
        JL_CHECK(jlora::embedding_forward(static_cast<const uint16_t*>(table), ids, tokens, vocab, dim,
                                          static_cast<uint16_t*>(out), bad, s));
    } else {
        JL_CHECK(jlora::embedding_forward(static_cast<const float*>(table), ids, tokens, vocab, dim,
                                          static_cast<float*>(out), bad, s));
    }
    uint64_t found = 0;
    JL_CHECK(cudaMemcpyAsync(&found, bad, sizeof found, cudaMemcpyDeviceToHost, s));
    JL_CHECK(cudaStreamSynchronize(s));
    if (found != ~uint64_t(0)) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "token id %d at position %lld is outside the vocabulary [0, %lld)",
                      static_cast<int32_t>(found & 0xFFFFFFFFu), static_cast<long long>(found >> 32),
                      static_cast<long long>(vocab));
        return jlora::fail_range(msg);
    }
    return JL_OK;
}

int jl_embedding_backward(const int32_t* ids, const void* dout, int64_t tokens, int64_t vocab, int64_t dim,
                          float* dtable, int32_t dtype, void* stream) {
    if (int rc = jlora::check_dtype("jl_embedding_backward", dtype)) return rc;
    if (tokens < 0 || vocab <= 0 || dim <= 0) return jlora::fail_argument("jl_embedding_backward: bad sizes");
    if (tokens > 0 && (!ids || !dout || !dtable)) return jlora::fail_argument("jl_embedding_backward: null pointer");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dtype == JL_DTYPE_BF16) {
        JL_CHECK(jlora::embedding_backward(ids, static_cast<const uint16_t*>(dout), tokens, vocab, dim, dtable, s));
    } else {
        JL_CHECK(jlora::embedding_backward(ids, static_cast<const float*>(dout), tokens, vocab, dim, dtable, s));
    }
    return JL_OK;
}

}  // extern "C"
