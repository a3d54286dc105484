// C ABI over cuda/adamw8bit.cu, and the paged mode: 8-bit state + absmax in pinned host memory,
// streamed chunk by chunk through two device staging buffers.
//
// Paged pipeline, chunk k in staging buffer b = k % 2 (three streams, ordered by events only):
//   upload stream   wait freed[b] (chunk k − 2's copy-back out of b is done); H2D codes + absmax
//                   of chunk k into b; record loaded[b]
//   compute stream  wait loaded[b]; the 8-bit kernel on chunk k (param / grad on the device);
//                   record computed[b]
//   download stream wait computed[b]; D2H b back to chunk k's host state; record freed[b]
// so the upload of chunk k + 1, the kernel on chunk k and the copy-back of chunk k − 1 overlap,
// and the device holds two chunks of optimizer state whatever the parameter count. The
// upload stream first waits for an event recorded on the caller's stream (all earlier work,
// including the previous step's copy-backs, which the caller's stream waits for at the end of
// every step: the step is one stream-ordered operation to the caller). Copy streams are
// non-blocking, so the legacy default stream does not serialize them against the kernels.
// Chunks start at multiples of the chunk size, a multiple of 256, so no 8-bit block (and no
// absmax) straddles two chunks and the bytes equal the unpaged step's.
#include "jlora_cuda.h"
#include "status.h"
#include "../cuda/adamw8bit.cuh"
#include "../cuda/launch.cuh"

#include <new>

namespace {

struct Paged {
    int64_t chunk = 0;  // elements per chunk, a multiple of 256
    void* staging[2] = {nullptr, nullptr};
    cudaStream_t up = nullptr, down = nullptr;
    cudaEvent_t loaded[2] = {nullptr, nullptr}, computed[2] = {nullptr, nullptr}, freed[2] = {nullptr, nullptr};
    cudaEvent_t start = nullptr, done = nullptr;
};

int64_t staging_bytes(int64_t chunk) { return 2 * chunk + 2 * 4 * (chunk / jlora::kAdam8bitBlock); }

jlora::Adam8bitState staging_state(const Paged& h, int b) {
    uint8_t* base = static_cast<uint8_t*>(h.staging[b]);
    float* a1 = reinterpret_cast<float*>(base + 2 * h.chunk);
    return jlora::Adam8bitState{base, base + h.chunk, a1, a1 + h.chunk / jlora::kAdam8bitBlock};
}

void release(Paged* h) {
    for (int b = 0; b < 2; b++) {
        if (h->staging[b]) cudaFree(h->staging[b]);
        if (h->loaded[b]) cudaEventDestroy(h->loaded[b]);
        if (h->computed[b]) cudaEventDestroy(h->computed[b]);
        if (h->freed[b]) cudaEventDestroy(h->freed[b]);
    }
    if (h->start) cudaEventDestroy(h->start);
    if (h->done) cudaEventDestroy(h->done);
    if (h->up) cudaStreamDestroy(h->up);
    if (h->down) cudaStreamDestroy(h->down);
    delete h;
}

int create(Paged* h, int64_t chunk) {
    h->chunk = chunk;
    const unsigned flags = cudaEventDisableTiming;
    for (int b = 0; b < 2; b++) {
        JL_CHECK(cudaMalloc(&h->staging[b], static_cast<size_t>(staging_bytes(chunk))));
        JL_CHECK(cudaEventCreateWithFlags(&h->loaded[b], flags));
        JL_CHECK(cudaEventCreateWithFlags(&h->computed[b], flags));
        JL_CHECK(cudaEventCreateWithFlags(&h->freed[b], flags));
    }
    JL_CHECK(cudaEventCreateWithFlags(&h->start, flags));
    JL_CHECK(cudaEventCreateWithFlags(&h->done, flags));
    JL_CHECK(cudaStreamCreateWithFlags(&h->up, cudaStreamNonBlocking));
    JL_CHECK(cudaStreamCreateWithFlags(&h->down, cudaStreamNonBlocking));
    return JL_OK;
}

jlora::Adam8bitScalars scalars(float beta1, float beta2, float eps, float lr, float weight_decay, float correction2,
                               float step_size) {
    return jlora::Adam8bitScalars{beta1, beta2, eps, lr, weight_decay, correction2, step_size};
}

bool aligned(const void* p) { return jlora::is_aligned16(p); }

}  // namespace

extern "C" {

int jl_adamw8bit_step_variant(float* param, const float* grad, uint8_t* q1, uint8_t* q2, float* a1, float* a2,
                              int64_t n, float beta1, float beta2, float eps, float lr, float weight_decay,
                              float correction2, float step_size, const float* grad_scale, const float* signed_code,
                              const float* unsigned_code, int32_t variant, void* stream) {
    if (n < 0 || (n > 0 && (!param || !grad || !q1 || !q2 || !a1 || !a2 || !signed_code || !unsigned_code))) {
        return jlora::fail_argument("jl_adamw8bit_step: null pointer or negative n");
    }
    if (n > 0 && !(aligned(param) && aligned(grad) && aligned(q1) && aligned(q2))) {
        return jlora::fail_argument("jl_adamw8bit_step: param, grad and the code arrays must be 16-byte aligned");
    }
    if (variant < 0 || variant >= jlora::kAdam8bitVariants) {
        return jlora::fail_argument("jl_adamw8bit_step_variant: variant out of range");
    }
    jlora::Adam8bitState st{q1, q2, a1, a2};
    JL_CHECK(jlora::adamw8bit_step(param, grad, st, n, scalars(beta1, beta2, eps, lr, weight_decay, correction2, step_size),
                                   grad_scale, signed_code, unsigned_code, static_cast<cudaStream_t>(stream), variant));
    return JL_OK;
}

int jl_adamw8bit_step(float* param, const float* grad, uint8_t* q1, uint8_t* q2, float* a1, float* a2, int64_t n,
                      float beta1, float beta2, float eps, float lr, float weight_decay, float correction2,
                      float step_size, const float* grad_scale, const float* signed_code,
                      const float* unsigned_code, void* stream) {
    return jl_adamw8bit_step_variant(param, grad, q1, q2, a1, a2, n, beta1, beta2, eps, lr, weight_decay, correction2,
                                     step_size, grad_scale, signed_code, unsigned_code,
                                     jlora::kAdam8bitDefaultVariant, stream);
}

int32_t jl_adamw8bit_variants(void) { return jlora::kAdam8bitVariants; }

int jl_adamw_bnb32_step(float* param, const float* grad, float* m, float* v, int64_t n, float beta1, float beta2,
                        float eps, float lr, float weight_decay, float correction2, float step_size,
                        const float* grad_scale, void* stream) {
    if (n < 0 || (n > 0 && (!param || !grad || !m || !v))) {
        return jlora::fail_argument("jl_adamw_bnb32_step: null pointer or negative n");
    }
    JL_CHECK(jlora::adamw_bnb32_step(param, grad, m, v, n,
                                     scalars(beta1, beta2, eps, lr, weight_decay, correction2, step_size), grad_scale,
                                     static_cast<cudaStream_t>(stream)));
    return JL_OK;
}

int64_t jl_adamw8bit_paged_device_bytes(int64_t chunk_elements) { return 2 * staging_bytes(chunk_elements); }

int jl_adamw8bit_paged_create(int64_t chunk_elements, void** out) {
    if (!out) return jlora::fail_argument("jl_adamw8bit_paged_create: null out");
    *out = nullptr;
    if (chunk_elements <= 0 || chunk_elements % jlora::kAdam8bitBlock != 0) {
        return jlora::fail_argument("jl_adamw8bit_paged_create: chunk must be a positive multiple of 256 elements");
    }
    Paged* h = new (std::nothrow) Paged();
    if (!h) return jlora::fail_argument("jl_adamw8bit_paged_create: out of host memory");
    int rc = create(h, chunk_elements);
    if (rc != JL_OK) {
        release(h);
        return rc;
    }
    *out = h;
    return JL_OK;
}

int jl_adamw8bit_paged_destroy(void* handle) {
    if (!handle) return JL_OK;
    Paged* h = static_cast<Paged*>(handle);
    // Work still queued on the copy streams reads the staging buffers: let it finish first.
    cudaError_t err = cudaStreamSynchronize(h->up);
    cudaError_t err2 = cudaStreamSynchronize(h->down);
    release(h);
    if (err != cudaSuccess) return jlora::fail_cuda("cudaStreamSynchronize(upload)", err);
    if (err2 != cudaSuccess) return jlora::fail_cuda("cudaStreamSynchronize(download)", err2);
    return JL_OK;
}

int jl_adamw8bit_paged_step(void* handle, float* param, const float* grad, uint8_t* host_q1, uint8_t* host_q2,
                            float* host_a1, float* host_a2, int64_t n, float beta1, float beta2, float eps, float lr,
                            float weight_decay, float correction2, float step_size, const float* grad_scale,
                            const float* signed_code, const float* unsigned_code, void* stream) {
    if (!handle) return jlora::fail_argument("jl_adamw8bit_paged_step: null handle");
    if (n < 0 || (n > 0 && (!param || !grad || !host_q1 || !host_q2 || !host_a1 || !host_a2 || !signed_code ||
                            !unsigned_code))) {
        return jlora::fail_argument("jl_adamw8bit_paged_step: null pointer or negative n");
    }
    if (n > 0 && !(aligned(param) && aligned(grad))) {
        return jlora::fail_argument("jl_adamw8bit_paged_step: param and grad must be 16-byte aligned");
    }
    if (n == 0) return JL_OK;
    Paged& h = *static_cast<Paged*>(handle);
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    const jlora::Adam8bitScalars sc = scalars(beta1, beta2, eps, lr, weight_decay, correction2, step_size);
    const int64_t block = jlora::kAdam8bitBlock;
    JL_CHECK(cudaEventRecord(h.start, s));
    JL_CHECK(cudaStreamWaitEvent(h.up, h.start, 0));
    int64_t k = 0;
    for (int64_t off = 0; off < n; off += h.chunk, k++) {
        const int b = int(k & 1);
        const int64_t len = n - off < h.chunk ? n - off : h.chunk;
        const int64_t blocks = (len + block - 1) / block;
        const jlora::Adam8bitState st = staging_state(h, b);
        const size_t codes = static_cast<size_t>(len), absmax = static_cast<size_t>(4 * blocks);
        if (k >= 2) JL_CHECK(cudaStreamWaitEvent(h.up, h.freed[b], 0));
        JL_CHECK(cudaMemcpyAsync(st.q1, host_q1 + off, codes, cudaMemcpyHostToDevice, h.up));
        JL_CHECK(cudaMemcpyAsync(st.q2, host_q2 + off, codes, cudaMemcpyHostToDevice, h.up));
        JL_CHECK(cudaMemcpyAsync(st.a1, host_a1 + off / block, absmax, cudaMemcpyHostToDevice, h.up));
        JL_CHECK(cudaMemcpyAsync(st.a2, host_a2 + off / block, absmax, cudaMemcpyHostToDevice, h.up));
        JL_CHECK(cudaEventRecord(h.loaded[b], h.up));
        JL_CHECK(cudaStreamWaitEvent(s, h.loaded[b], 0));
        JL_CHECK(jlora::adamw8bit_step(param + off, grad + off, st, len, sc, grad_scale, signed_code, unsigned_code, s));
        JL_CHECK(cudaEventRecord(h.computed[b], s));
        JL_CHECK(cudaStreamWaitEvent(h.down, h.computed[b], 0));
        JL_CHECK(cudaMemcpyAsync(host_q1 + off, st.q1, codes, cudaMemcpyDeviceToHost, h.down));
        JL_CHECK(cudaMemcpyAsync(host_q2 + off, st.q2, codes, cudaMemcpyDeviceToHost, h.down));
        JL_CHECK(cudaMemcpyAsync(host_a1 + off / block, st.a1, absmax, cudaMemcpyDeviceToHost, h.down));
        JL_CHECK(cudaMemcpyAsync(host_a2 + off / block, st.a2, absmax, cudaMemcpyDeviceToHost, h.down));
        JL_CHECK(cudaEventRecord(h.freed[b], h.down));
    }
    JL_CHECK(cudaEventRecord(h.done, h.down));
    JL_CHECK(cudaStreamWaitEvent(s, h.done, 0));
    return JL_OK;
}

// Pinned host memory (cudaHostAlloc, portable): what the paged state lives in, so that the
// copy engines can move it asynchronously.
int jl_host_alloc(void** out, int64_t bytes) {
    if (!out || bytes < 0) return jlora::fail_argument("jl_host_alloc: null out or negative size");
    *out = nullptr;
    if (bytes == 0) return JL_OK;
    JL_CHECK(cudaHostAlloc(out, static_cast<size_t>(bytes), cudaHostAllocPortable));
    return JL_OK;
}

int jl_host_free(void* ptr) {
    JL_CHECK(cudaFreeHost(ptr));
    return JL_OK;
}

// The host link's bandwidth as the paged optimizer sees it: `reps` copies of `bytes` between
// pinned host and device memory, H2D (direction 0), D2H (1), or both at once on two streams
// (2: each direction `bytes`, the duplex case the paged pipeline runs in). out_ms: the median
// milliseconds of one repetition, timed with events.
int jl_host_link_copy_ms(void* host, void* host2, void* dev, void* dev2, int64_t bytes, int32_t direction,
                         int32_t reps, float* out_ms) {
    if (!host || !dev || !out_ms || bytes <= 0 || reps <= 0 || reps > 64 || direction < 0 || direction > 2 ||
        (direction == 2 && (!host2 || !dev2))) {
        return jlora::fail_argument("jl_host_link_copy_ms: bad arguments");
    }
    cudaStream_t a = nullptr, b = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr, joined = nullptr;
    float ms[64];
    int rc = JL_OK;
    auto check = [&](cudaError_t err, const char* what) {
        if (err != cudaSuccess && rc == JL_OK) rc = jlora::fail_cuda(what, err);
        return rc == JL_OK;
    };
    const size_t sz = static_cast<size_t>(bytes);
    if (check(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), "cudaStreamCreate") &&
        check(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), "cudaStreamCreate") &&
        check(cudaEventCreate(&e0), "cudaEventCreate") && check(cudaEventCreate(&e1), "cudaEventCreate") &&
        check(cudaEventCreateWithFlags(&joined, cudaEventDisableTiming), "cudaEventCreate")) {
        for (int r = -1; r < reps && rc == JL_OK; r++) {  // r = -1: warm-up
            check(cudaEventRecord(e0, a), "cudaEventRecord");
            if (direction == 0 || direction == 2) check(cudaMemcpyAsync(dev, host, sz, cudaMemcpyHostToDevice, a), "cudaMemcpyAsync H2D");
            if (direction == 1) check(cudaMemcpyAsync(host, dev, sz, cudaMemcpyDeviceToHost, a), "cudaMemcpyAsync D2H");
            if (direction == 2) {
                check(cudaStreamWaitEvent(b, e0, 0), "cudaStreamWaitEvent");
                check(cudaMemcpyAsync(host2, dev2, sz, cudaMemcpyDeviceToHost, b), "cudaMemcpyAsync D2H");
                check(cudaEventRecord(joined, b), "cudaEventRecord");
                check(cudaStreamWaitEvent(a, joined, 0), "cudaStreamWaitEvent");
            }
            check(cudaEventRecord(e1, a), "cudaEventRecord");
            check(cudaEventSynchronize(e1), "cudaEventSynchronize");
            if (r >= 0) check(cudaEventElapsedTime(&ms[r], e0, e1), "cudaEventElapsedTime");
        }
    }
    if (rc == JL_OK) {
        for (int i = 1; i < reps; i++) {  // insertion sort, reps <= 64
            float x = ms[i];
            int j = i - 1;
            while (j >= 0 && ms[j] > x) { ms[j + 1] = ms[j]; j--; }
            ms[j + 1] = x;
        }
        *out_ms = reps % 2 == 1 ? ms[reps / 2] : 0.5f * (ms[reps / 2 - 1] + ms[reps / 2]);
    }
    if (joined) cudaEventDestroy(joined);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    if (a) cudaStreamDestroy(a);
    if (b) cudaStreamDestroy(b);
    return rc;
}

}  // extern "C"
