// Device query and plain memory management: the host half of the Java → CUDA chain.
#include "jlora_cuda.h"
#include "status.h"

#include <cuda_runtime_api.h>
#include <cstddef>
#include <cstring>

using jlora::fail_argument;

// CudaApi.DEVICE_INFO mirrors this layout; CudaApiLayoutTest checks the same numbers there.
static_assert(sizeof(jl_device_info) == 304, "jl_device_info layout changed: update CudaApi.DEVICE_INFO");
static_assert(offsetof(jl_device_info, major) == 256, "jl_device_info layout");
static_assert(offsetof(jl_device_info, total_bytes) == 272, "jl_device_info layout");
static_assert(offsetof(jl_device_info, shared_per_block_optin) == 296, "jl_device_info layout");

extern "C" {

int jl_runtime_version(int32_t* out) {
    if (!out) return fail_argument("jl_runtime_version: null out");
    int v = 0;
    JL_CHECK(cudaRuntimeGetVersion(&v));
    *out = v;
    return JL_OK;
}

int jl_driver_version(int32_t* out) {
    if (!out) return fail_argument("jl_driver_version: null out");
    int v = 0;
    // Reports 0 (and succeeds) when libcuda.so.1 cannot be loaded.
    JL_CHECK(cudaDriverGetVersion(&v));
    *out = v;
    return JL_OK;
}

int jl_device_count(int32_t* out) {
    if (!out) return fail_argument("jl_device_count: null out");
    int n = 0;
    JL_CHECK(cudaGetDeviceCount(&n));
    *out = n;
    return JL_OK;
}

int jl_device_info_get(int32_t device, jl_device_info* out) {
    if (!out) return fail_argument("jl_device_info_get: null out");
    int n = 0;
    JL_CHECK(cudaGetDeviceCount(&n));
    if (device < 0 || device >= n) return fail_argument("jl_device_info_get: device index out of range");
    cudaDeviceProp p;
    JL_CHECK(cudaGetDeviceProperties(&p, device));
    std::memset(out, 0, sizeof *out);
    std::strncpy(out->name, p.name, sizeof out->name - 1);
    out->major = p.major;
    out->minor = p.minor;
    out->multiprocessors = p.multiProcessorCount;
    out->pci_bus = p.pciBusID;
    out->total_bytes = static_cast<int64_t>(p.totalGlobalMem);
    out->l2_bytes = p.l2CacheSize;
    out->shared_per_block_optin = static_cast<int64_t>(p.sharedMemPerBlockOptin);
    // Free memory needs a context on that device; restore the caller's current device after.
    int previous = 0;
    JL_CHECK(cudaGetDevice(&previous));
    JL_CHECK(cudaSetDevice(device));
    size_t free_bytes = 0, total = 0;
    cudaError_t err = cudaMemGetInfo(&free_bytes, &total);
    cudaSetDevice(previous);
    if (err != cudaSuccess) return jlora::fail_cuda("cudaMemGetInfo", err);
    out->free_bytes = static_cast<int64_t>(free_bytes);
    return JL_OK;
}

int jl_set_device(int32_t device) {
    JL_CHECK(cudaSetDevice(device));
    return JL_OK;
}

int jl_malloc(void** out, int64_t bytes) {
    if (!out || bytes < 0) return fail_argument("jl_malloc: null out or negative size");
    *out = nullptr;
    if (bytes == 0) return JL_OK;
    JL_CHECK(cudaMalloc(out, static_cast<size_t>(bytes)));
    return JL_OK;
}

int jl_free(void* ptr) {
    JL_CHECK(cudaFree(ptr));
    return JL_OK;
}

int jl_memcpy_h2d(void* dst, const void* src, int64_t bytes) {
    if (bytes < 0 || (bytes > 0 && (!dst || !src))) return fail_argument("jl_memcpy_h2d: null pointer or negative size");
    JL_CHECK(cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice));
    return JL_OK;
}

int jl_memcpy_d2h(void* dst, const void* src, int64_t bytes) {
    if (bytes < 0 || (bytes > 0 && (!dst || !src))) return fail_argument("jl_memcpy_d2h: null pointer or negative size");
    JL_CHECK(cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost));
    return JL_OK;
}

int jl_memcpy_d2d(void* dst, const void* src, int64_t bytes) {
    if (bytes < 0 || (bytes > 0 && (!dst || !src))) return fail_argument("jl_memcpy_d2d: null pointer or negative size");
    JL_CHECK(cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice));
    return JL_OK;
}

int jl_memset_d(void* dst, int32_t byte_value, int64_t bytes) {
    if (bytes < 0 || (bytes > 0 && !dst)) return fail_argument("jl_memset_d: null pointer or negative size");
    JL_CHECK(cudaMemset(dst, byte_value, static_cast<size_t>(bytes)));
    return JL_OK;
}

int jl_synchronize(void) {
    JL_CHECK(cudaDeviceSynchronize());
    return JL_OK;
}

int jl_event_create(void** out) {
    if (!out) return fail_argument("jl_event_create: null out");
    cudaEvent_t e = nullptr;
    JL_CHECK(cudaEventCreate(&e));
    *out = e;
    return JL_OK;
}

int jl_event_destroy(void* event) {
    JL_CHECK(cudaEventDestroy(static_cast<cudaEvent_t>(event)));
    return JL_OK;
}

int jl_event_record(void* event, void* stream) {
    JL_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int jl_event_elapsed_ms(void* start, void* end, float* out_ms) {
    if (!out_ms) return fail_argument("jl_event_elapsed_ms: null out");
    JL_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(end)));
    JL_CHECK(cudaEventElapsedTime(out_ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)));
    return JL_OK;
}

}  // extern "C"
