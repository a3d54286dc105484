// Streams and stream-ordered memory (cudaMallocAsync over the device's default pool): the
// allocations a training step makes come back to the pool at cudaFreeAsync and are reused by
// later allocations on the same stream without a device synchronization. No managed memory.
#include "jlora_cuda.h"
#include "status.h"

#include <cuda_runtime_api.h>

using jlora::fail_argument;

namespace {

int default_pool(int32_t device, cudaMemPool_t* pool) {
    JL_CHECK(cudaDeviceGetDefaultMemPool(pool, device));
    return JL_OK;
}

}  // namespace

extern "C" {

int jl_stream_create(void** out) {
    if (!out) return fail_argument("jl_stream_create: null out");
    cudaStream_t s = nullptr;
    // A blocking stream (not cudaStreamNonBlocking): work on it stays ordered with the legacy
    // default stream that the older kernel wrappers launch on.
    JL_CHECK(cudaStreamCreate(&s));
    *out = s;
    return JL_OK;
}

int jl_stream_destroy(void* stream) {
    if (!stream) return fail_argument("jl_stream_destroy: null stream (the default stream is not destroyed)");
    JL_CHECK(cudaStreamDestroy(static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_stream_synchronize(void* stream) {
    JL_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_stream_wait_event(void* stream, void* event) {
    if (!event) return fail_argument("jl_stream_wait_event: null event");
    JL_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0));
    return JL_OK;
}

int jl_malloc_async(void** out, int64_t bytes, void* stream) {
    if (!out || bytes < 0) return fail_argument("jl_malloc_async: null out or negative size");
    *out = nullptr;
    if (bytes == 0) return JL_OK;
    JL_CHECK(cudaMallocAsync(out, static_cast<size_t>(bytes), static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_free_async(void* ptr, void* stream) {
    if (!ptr) return JL_OK;
    JL_CHECK(cudaFreeAsync(ptr, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_memcpy_async(void* dst, const void* src, int64_t bytes, void* stream) {
    if (bytes < 0 || (bytes > 0 && (!dst || !src))) return fail_argument("jl_memcpy_async: null pointer or negative size");
    if (bytes == 0) return JL_OK;
    // cudaMemcpyDefault: the direction follows from the pointers (unified addressing).
    JL_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDefault, static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_memcpy_2d_async(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t width_bytes,
                       int64_t rows, void* stream) {
    if (width_bytes < 0 || rows < 0 || dst_pitch < width_bytes || src_pitch < width_bytes) {
        return fail_argument("jl_memcpy_2d_async: negative size or a pitch smaller than the row width");
    }
    if (width_bytes == 0 || rows == 0) return JL_OK;
    if (!dst || !src) return fail_argument("jl_memcpy_2d_async: null pointer");
    JL_CHECK(cudaMemcpy2DAsync(dst, static_cast<size_t>(dst_pitch), src, static_cast<size_t>(src_pitch),
                               static_cast<size_t>(width_bytes), static_cast<size_t>(rows), cudaMemcpyDefault,
                               static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_memset_async(void* dst, int32_t byte_value, int64_t bytes, void* stream) {
    if (bytes < 0 || (bytes > 0 && !dst)) return fail_argument("jl_memset_async: null pointer or negative size");
    if (bytes == 0) return JL_OK;
    JL_CHECK(cudaMemsetAsync(dst, byte_value, static_cast<size_t>(bytes), static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_memset_2d_async(void* dst, int64_t pitch, int32_t byte_value, int64_t width_bytes, int64_t rows, void* stream) {
    if (width_bytes < 0 || rows < 0 || pitch < width_bytes) {
        return fail_argument("jl_memset_2d_async: negative size or a pitch smaller than the row width");
    }
    if (width_bytes == 0 || rows == 0) return JL_OK;
    if (!dst) return fail_argument("jl_memset_2d_async: null pointer");
    JL_CHECK(cudaMemset2DAsync(dst, static_cast<size_t>(pitch), byte_value, static_cast<size_t>(width_bytes),
                               static_cast<size_t>(rows), static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_mem_pool_set_release_threshold(int32_t device, uint64_t bytes) {
    cudaMemPool_t pool;
    int rc = default_pool(device, &pool);
    if (rc != JL_OK) return rc;
    uint64_t v = bytes;
    JL_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &v));
    return JL_OK;
}

int jl_mem_pool_stats(int32_t device, jl_pool_stats* out) {
    if (!out) return fail_argument("jl_mem_pool_stats: null out");
    cudaMemPool_t pool;
    int rc = default_pool(device, &pool);
    if (rc != JL_OK) return rc;
    uint64_t v = 0;
    JL_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &v));
    out->reserved_bytes = static_cast<int64_t>(v);
    JL_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &v));
    out->reserved_peak_bytes = static_cast<int64_t>(v);
    JL_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &v));
    out->used_bytes = static_cast<int64_t>(v);
    JL_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &v));
    out->used_peak_bytes = static_cast<int64_t>(v);
    JL_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &v));
    out->release_threshold = static_cast<int64_t>(v);
    return JL_OK;
}

int jl_mem_pool_reset_peaks(int32_t device) {
    cudaMemPool_t pool;
    int rc = default_pool(device, &pool);
    if (rc != JL_OK) return rc;
    uint64_t zero = 0;  // the only value these two attributes accept: reset to the current level
    JL_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &zero));
    JL_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
    return JL_OK;
}

int jl_mem_pool_trim(int32_t device, int64_t keep_bytes) {
    if (keep_bytes < 0) return fail_argument("jl_mem_pool_trim: negative size");
    cudaMemPool_t pool;
    int rc = default_pool(device, &pool);
    if (rc != JL_OK) return rc;
    JL_CHECK(cudaMemPoolTrimTo(pool, static_cast<size_t>(keep_bytes)));
    return JL_OK;
}

}  // extern "C"
