// C ABI of libjlora_cuda.so, called from Java through Panama (jlora.backend.cuda).
//
// Every function returns an int status: 0 on success, a positive cudaError_t value when a
// CUDA call failed, or a negative JL_ERR_* code for a bad argument caught here. After a
// non-zero status, jl_last_error() gives a sentence naming the failing call; it is
// thread-local, so read it on the same thread right after the failing call.
#ifndef JLORA_CUDA_H
#define JLORA_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JL_API __attribute__((visibility("default")))

enum {
    JL_OK = 0,
    JL_ERR_ARGUMENT = -1,   // null pointer, negative size, bad device index
};

// Fixed layout mirrored by CudaDevices.INFO_LAYOUT on the Java side: 256 name bytes,
// four int32, four int64 (no padding; 304 bytes).
typedef struct jl_device_info {
    char name[256];
    int32_t major;
    int32_t minor;
    int32_t multiprocessors;
    int32_t pci_bus;
    int64_t total_bytes;
    int64_t free_bytes;
    int64_t l2_bytes;
    int64_t shared_per_block_optin;
} jl_device_info;

JL_API const char* jl_last_error(void);
JL_API const char* jl_error_name(int status);

// Versions as CUDA encodes them (1000 * major + 10 * minor). A driver version of 0 means
// no CUDA driver (libcuda.so.1) could be loaded.
JL_API int jl_runtime_version(int32_t* out);
JL_API int jl_driver_version(int32_t* out);
JL_API int jl_device_count(int32_t* out);
JL_API int jl_device_info_get(int32_t device, jl_device_info* out);

JL_API int jl_set_device(int32_t device);
JL_API int jl_malloc(void** out, int64_t bytes);
JL_API int jl_free(void* ptr);
JL_API int jl_memcpy_h2d(void* dst, const void* src, int64_t bytes);
JL_API int jl_memcpy_d2h(void* dst, const void* src, int64_t bytes);
JL_API int jl_memcpy_d2d(void* dst, const void* src, int64_t bytes);
JL_API int jl_memset_d(void* dst, int32_t byte_value, int64_t bytes);
JL_API int jl_synchronize(void);

// CUDA events for benchmark timing (cudaEventElapsedTime, milliseconds).
JL_API int jl_event_create(void** out);
JL_API int jl_event_destroy(void* event);
JL_API int jl_event_record(void* event, void* stream);
JL_API int jl_event_elapsed_ms(void* start, void* end, float* out_ms);

// cuda/cast.cu. stream may be null (the legacy default stream). Launch errors are
// returned; errors during execution surface at the next synchronizing call.
JL_API int jl_cast_f32_to_bf16(const float* src, uint16_t* dst, int64_t n, void* stream);
JL_API int jl_cast_bf16_to_f32(const uint16_t* src, float* dst, int64_t n, void* stream);
// The kernels' own rounding function run on the CPU over host memory: lets machines without
// a GPU test the rule the GPU applies (CastRoundingTest).
JL_API int jl_cast_f32_to_bf16_host(const float* src, uint16_t* dst, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
