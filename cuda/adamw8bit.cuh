// Launchers of cuda/adamw8bit.cu, called from native/adamw8bit.cpp.
#ifndef JLORA_ADAMW8BIT_CUH
#define JLORA_ADAMW8BIT_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// bitsandbytes' BLOCKSIZE_2STATE: elements per absmax of blockwise 8-bit optimizer state
// (jlora.train.AdamW8bit.BLOCKSIZE).
constexpr int kAdam8bitBlock = 256;

// jlora.train.AdamW8bit.Constants, formed on the host by the same Java code the CPU optimizer
// uses (bitsandbytes passes them to its kernels as C floats). decay: apply p *= 1 − lr·wd
// (bitsandbytes: weight_decay > 0).
struct Adam8bitScalars {
    float beta1;
    float beta2;
    float eps;
    float lr;
    float weight_decay;
    float correction2;
    float step_size;
};

// Blockwise 8-bit state: q1 / q2 u8 codes [n] into the signed / unsigned dynamic maps
// (device f32[256] each), absmax a1 / a2 f32 [ceil(n / 256)]. param / grad f32 [n]; grad is
// multiplied by *grad_scale (device) first when not null. Every pointer 16-byte aligned.
struct Adam8bitState {
    uint8_t* q1;
    uint8_t* q2;
    float* a1;
    float* a2;
};

// Kernel variants (bit-identical; the benchmark times each, the parity test checks each): 0 keeps
// the block's moments in registers between its two passes, 1 recomputes them (fewer registers,
// more resident warps); 2 and 3 are 0 and 1 with the code search over heap-ordered maps (fewer
// shared-memory bank conflicts); 4, 5, 6 are 0, 2, 3 written with selects instead of branches;
// 7 and 8 are 4 and 0 on a persistent grid; 9 is 7 with the next block's loads in flight.
constexpr int kAdam8bitDefaultVariant = 0;
constexpr int kAdam8bitVariants = 10;

cudaError_t adamw8bit_step(float* param, const float* grad, const Adam8bitState& st, int64_t n,
                           const Adam8bitScalars& s, const float* grad_scale, const float* signed_code,
                           const float* unsigned_code, cudaStream_t stream, int variant = kAdam8bitDefaultVariant);

// bitsandbytes' fp32-state update for parameters under min_8bit_size
// (kOptimizer32bit2State<ADAM>), as jlora.train.AdamW8bit#update32bit.
cudaError_t adamw_bnb32_step(float* param, const float* grad, float* m, float* v, int64_t n,
                             const Adam8bitScalars& s, const float* grad_scale, cudaStream_t stream);

}  // namespace jlora

#endif
