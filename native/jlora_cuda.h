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
    JL_ERR_OUT_OF_RANGE = -2,  // data out of range, found on the device (a token id past the vocabulary)
};

// Element type of activation buffers passed as void* (jlora.backend.cuda.KernelDType).
enum {
    JL_DTYPE_F32 = 0,
    JL_DTYPE_BF16 = 1,  // uint16 bit patterns, rounded to nearest even on store
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

// Streams and stream-ordered memory (native/stream.cpp). Streams are created blocking, so
// they stay ordered with the legacy default stream (stream null). jl_malloc_async /
// jl_free_async use the device's default memory pool (cudaMallocAsync); its release threshold
// (bytes kept reserved across synchronizations; 0 by default, UINT64_MAX keeps everything)
// and its statistics are those of the pool of `device`. jl_memcpy_async infers the
// direction from the pointers; host memory should be pinned for it to be asynchronous.
typedef struct jl_pool_stats {
    int64_t reserved_bytes;       // cudaMemPoolAttrReservedMemCurrent
    int64_t reserved_peak_bytes;  // cudaMemPoolAttrReservedMemHigh (since creation or the last reset)
    int64_t used_bytes;           // cudaMemPoolAttrUsedMemCurrent
    int64_t used_peak_bytes;      // cudaMemPoolAttrUsedMemHigh
    int64_t release_threshold;    // cudaMemPoolAttrReleaseThreshold
} jl_pool_stats;

JL_API int jl_stream_create(void** out);
JL_API int jl_stream_destroy(void* stream);
JL_API int jl_stream_synchronize(void* stream);
JL_API int jl_stream_wait_event(void* stream, void* event);
JL_API int jl_malloc_async(void** out, int64_t bytes, void* stream);
JL_API int jl_free_async(void* ptr, void* stream);
JL_API int jl_memcpy_async(void* dst, const void* src, int64_t bytes, void* stream);
JL_API int jl_memcpy_2d_async(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t width_bytes,
                              int64_t rows, void* stream);
JL_API int jl_memset_async(void* dst, int32_t byte_value, int64_t bytes, void* stream);
JL_API int jl_memset_2d_async(void* dst, int64_t pitch, int32_t byte_value, int64_t width_bytes, int64_t rows, void* stream);
JL_API int jl_mem_pool_set_release_threshold(int32_t device, uint64_t bytes);
JL_API int jl_mem_pool_stats(int32_t device, jl_pool_stats* out);
JL_API int jl_mem_pool_reset_peaks(int32_t device);
JL_API int jl_mem_pool_trim(int32_t device, int64_t keep_bytes);

// cuda/cast.cu. stream may be null (the legacy default stream). Launch errors are
// returned; errors during execution surface at the next synchronizing call.
JL_API int jl_cast_f32_to_bf16(const float* src, uint16_t* dst, int64_t n, void* stream);
JL_API int jl_cast_bf16_to_f32(const uint16_t* src, float* dst, int64_t n, void* stream);
// The kernels' own rounding function run on the CPU over host memory: lets machines without
// a GPU test the rule the GPU applies (CastRoundingTest).
JL_API int jl_cast_f32_to_bf16_host(const float* src, uint16_t* dst, int64_t n);

// cuda/nf4_dequant.cu: NF4 → bf16 (bit-exact with jlora.quant.Nf4Tensor#dequantize(BF16)).
// packed: ceil(n/2) bytes, element 2i in the high nibble of byte i; out: n bf16. Both 16-byte
// aligned; blocksize a multiple of 32. Plain: absmax f32 [ceil(n/blocksize)]. Double quant:
// absmax_q u8 codes into nested_code f32[256], times nested_absmax[b / nested_blocksize],
// plus offset.
JL_API int jl_nf4_dequant_bf16(const uint8_t* packed, const float* absmax, int64_t n, int32_t blocksize,
                               uint16_t* out, void* stream);
JL_API int jl_nf4_dequant_dq_bf16(const uint8_t* packed, const uint8_t* absmax_q, const float* nested_absmax,
                                  const float* nested_code, float offset, int32_t nested_blocksize, int64_t n,
                                  int32_t blocksize, uint16_t* out, void* stream);

// cuda/rms_norm.cu, [rows, dim]; x, out, dout, dx of type dtype (JL_DTYPE_*), weight, rstd and
// dweight f32. Backward: dweight (may be null) += Σ_t g·x·r, using
// jl_rms_norm_workspace_bytes(rows, dim) bytes of device workspace.
JL_API int jl_rms_norm_forward(const void* x, const float* weight, float eps, int64_t rows, int64_t dim, void* out,
                               float* rstd, int32_t dtype, void* stream);
JL_API int64_t jl_rms_norm_workspace_bytes(int64_t rows, int64_t dim);
JL_API int jl_rms_norm_backward(const void* dout, const void* x, const float* weight, const float* rstd,
                                int64_t rows, int64_t dim, void* dx, float* dweight, float* workspace,
                                int32_t dtype, void* stream);

// cuda/rope.cu, x / out of type dtype [tokens, heads, head_dim]; sign +1 forward, -1
// backward; out may be x.
JL_API int jl_rope(const void* x, const int32_t* positions, const float* inv_freq, int32_t half, int64_t tokens,
                   int32_t heads, int32_t head_dim, float scaling, int32_t sign, void* out, int32_t dtype,
                   void* stream);

// cuda/swiglu.cu, every buffer of type dtype.
JL_API int jl_swiglu_forward(const void* gate, const void* up, int64_t n, void* out, int32_t dtype, void* stream);
JL_API int jl_swiglu_backward(const void* dout, const void* gate, const void* up, int64_t n, void* dgate, void* dup,
                              int32_t dtype, void* stream);

// cuda/embedding.cu, table [vocab, dim] and out [tokens, dim] of type dtype, i32 ids
// [tokens]. The forward synchronizes the stream to check the ids: an id outside [0, vocab)
// returns JL_ERR_OUT_OF_RANGE naming the first such position (its output row is zeros).
// bad: 8 bytes of device scratch. The backward takes dout of type dtype and adds into an f32
// dtable.
JL_API int jl_embedding_forward(const void* table, const int32_t* ids, int64_t tokens, int64_t vocab, int64_t dim,
                                void* out, uint64_t* bad, int32_t dtype, void* stream);
JL_API int jl_embedding_backward(const int32_t* ids, const void* dout, int64_t tokens, int64_t vocab, int64_t dim,
                                 float* dtable, int32_t dtype, void* stream);

// cuda/adamw.cu. One AdamW step (torch.optim.AdamW, step >= 1) over flat f32 buffers; grad
// is scaled by *grad_scale (device) when not null. jl_grad_norm writes out[0] = ||grad||,
// out[1] = min(1, max_norm / (norm + 1e-6)); workspace: jl_grad_norm_workspace_bytes().
JL_API int jl_adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t step, const float* grad_scale,
                         void* stream);
JL_API int64_t jl_grad_norm_workspace_bytes(void);
JL_API int jl_grad_norm(const float* grad, int64_t n, float max_norm, float* workspace, float* out, void* stream);

// cuda/flash_attention.cu, bf16 (uint16 bits) causal grouped-query attention over a packed
// batch: document b owns tokens [cu_seqlens[b], cu_seqlens[b+1]) (device i32, batch + 1
// entries, non-decreasing from 0 to total_tokens, each length <= max_seqlen). q / out / dout /
// dq [total_tokens, hq, head_dim], k / v / dk / dv [total_tokens, hkv, head_dim], lse
// [total_tokens, hq] f32 (natural log). head_dim 64 or 128, hq a multiple of hkv, every buffer
// 16-byte aligned. Backward workspace: jl_flash_attention_backward_workspace_bytes; it is
// deterministic (no atomics). Decode: one query token q [hq, head_dim] against a cache k / v
// [len, hkv, head_dim] (every key visible), out [hq, head_dim], lse [hq] (may be null),
// workspace jl_flash_decode_workspace_bytes = 4 · splits · hq · (head_dim + 2) with splits =
// min(max(1, ceil(len / 256)), 528); backward workspace = 4 · total_tokens · hq.
JL_API int jl_flash_attention_forward(const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                      const int32_t* cu_seqlens, int32_t batch, int32_t max_seqlen,
                                      int64_t total_tokens, int32_t hq, int32_t hkv, int32_t head_dim, uint16_t* out,
                                      float* lse, void* stream);
JL_API int64_t jl_flash_attention_backward_workspace_bytes(int64_t total_tokens, int32_t hq);
JL_API int jl_flash_attention_backward(const uint16_t* dout, const uint16_t* q, const uint16_t* k,
                                       const uint16_t* v, const uint16_t* out, const float* lse,
                                       const int32_t* cu_seqlens, int32_t batch, int32_t max_seqlen,
                                       int64_t total_tokens, int32_t hq, int32_t hkv, int32_t head_dim, uint16_t* dq,
                                       uint16_t* dk, uint16_t* dv, float* workspace, void* stream);
JL_API int64_t jl_flash_decode_workspace_bytes(int64_t len, int32_t hq, int32_t head_dim);
JL_API int jl_flash_decode(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t len, int32_t hq,
                           int32_t hkv, int32_t head_dim, uint16_t* out, float* lse, float* workspace, void* stream);

// cuda/lora_linear.cu: the elementwise steps around the fused LoRA GEMMs
// (jlora.backend.cuda.LoraLinearKernels). Matrices are row-major with a row stride (ld, in
// elements). The dropout mask is jlora.backend.Dropout's: element (r, c) has index r · cols + c,
// is kept iff (SplitMix64(seed, index) >> 11) >= keep_threshold (ceil(p · 2^53); 0 keeps every
// element) and then scaled by keep_scale (1f / (1f - p)).
// jl_lora_cast_rows: dst (bf16) = bf16(src · mask · scale), src of type src_dtype.
// jl_lora_dropout_add: dx (dx_dtype) += mask · tmp, tmp f32 dense [rows, cols].
// jl_bias_add: y (dtype) += bias (f32 [cols]) on every row.
JL_API int jl_lora_cast_rows(const void* src, int32_t src_dtype, int64_t src_ld, uint16_t* dst, int64_t dst_ld,
                             int64_t rows, int64_t cols, float scale, uint64_t seed, uint64_t keep_threshold,
                             float keep_scale, void* stream);
JL_API int jl_lora_dropout_add(void* dx, int32_t dx_dtype, int64_t dx_ld, const float* tmp, int64_t rows, int64_t cols,
                               uint64_t seed, uint64_t keep_threshold, float keep_scale, void* stream);
// jl_lora_nf4_dequant_rows: an NF4 weight [rows, row_len] (as jl_nf4_dequant_bf16 reads it: plain
//   absmax when absmax_q is null, double quant otherwise) to bf16 rows row_stride elements apart
//   in out (the W block of the folded weight; the columns in between untouched), bit-exact with
//   jlora.quant.Nf4Tensor#dequantize(BF16). Any row_len <= row_stride and blocksize; 8-element
//   vector path when row_len, row_stride and blocksize are multiples of 8, out 16-byte and packed
//   4-byte aligned, one element per thread otherwise.
JL_API int jl_lora_nf4_dequant_rows(const uint8_t* packed, const float* absmax, const uint8_t* absmax_q,
                                    const float* nested_absmax, const float* nested_code, float offset,
                                    int32_t nested_blocksize, int32_t blocksize, int64_t rows, int64_t row_len,
                                    int64_t row_stride, uint16_t* out, void* stream);
// The kernels' mask function run on the CPU for the given indices (LoraDropoutMaskTest).
JL_API int jl_lora_dropout_factor_host(uint64_t seed, uint64_t keep_threshold, float keep_scale, const int64_t* index,
                                       int64_t n, float* out);
JL_API int jl_bias_add(void* y, int32_t dtype, int64_t ld, const float* bias, int64_t rows, int64_t cols, void* stream);

// cuda/lm_head_ce.cu: the kernels between the vocabulary-chunk GEMMs of the LM head fused
// with cross-entropy (jlora.backend.cuda.LmHeadCeKernels). Only counted rows take part:
// rows[c] (i32, n entries) is the token index of counted row c and targets[c] its target.
// jl_lmce_gather_rows: dst (bf16 [n, cols] dense) = src[rows[c], :] (src of src_dtype, row stride ld).
// jl_lmce_chunk_forward: logits f32 [n, cols] (row stride ld) are vocabulary columns [v0, v0 + cols);
//   state f32 [3n] = running max, running sum, target logit (reset when first != 0).
// jl_lmce_finalize: lse[rows[c]] = max + log(sum), loss[rows[c]] = lse - target logit (f32 [T]).
// jl_lmce_chunk_backward: g (bf16, row stride g_ld) = (exp(logit - lse[rows[c]]) - onehot) · loss_scale.
// jl_lmce_scatter_rows: dst[rows[c], :] (dst_dtype, row stride ld) = src[c, :] (f32 dense), or += when accumulate.
JL_API int jl_lmce_gather_rows(const void* src, int32_t src_dtype, int64_t ld, const int32_t* rows, int64_t n, int64_t cols,
                             uint16_t* dst, void* stream);
JL_API int jl_lmce_chunk_forward(const float* logits, int64_t ld, const int32_t* targets, int64_t n, int64_t cols,
                               int64_t v0, int32_t first, float* state, void* stream);
JL_API int jl_lmce_finalize(const float* state, const int32_t* rows, int64_t n, float* lse, float* loss, void* stream);
JL_API int jl_lmce_chunk_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows,
                                const float* lse, int64_t n, int64_t cols, int64_t v0, float loss_scale, uint16_t* g,
                                int64_t g_ld, void* stream);
// jl_lmce_rows_forward_backward: logits f32 [n, vocab] (row stride ld) are whole rows: writes
//   lse[rows[c]], loss[rows[c]] and, when g is not null, g (bf16) = (softmax - onehot) · loss_scale.
JL_API int jl_lmce_rows_forward_backward(const float* logits, int64_t ld, const int32_t* targets, const int32_t* rows,
                                       int64_t n, int64_t vocab, float loss_scale, uint16_t* g, int64_t g_ld, float* lse,
                                       float* loss, void* stream);
JL_API int jl_lmce_scatter_rows(const float* src, int64_t n, int64_t cols, const int32_t* rows, void* dst, int32_t dst_dtype,
                              int64_t ld, int32_t accumulate, void* stream);

#ifdef __cplusplus
}
#endif

#endif
