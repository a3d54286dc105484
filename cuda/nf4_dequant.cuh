// Launchers of cuda/nf4_dequant.cu, called from native/nf4_dequant.cpp.
#ifndef JLORA_NF4_DEQUANT_CUH
#define JLORA_NF4_DEQUANT_CUH

#include <cuda_runtime_api.h>
#include <cstdint>

namespace jlora {

// Double-quantized absmax (the nested state); absmax_f32 null. Or plain fp32 absmax, with
// absmax_q null. packed and out 16-byte aligned; blocksize a multiple of 32.
struct Nf4Args {
    const uint8_t* packed;
    const float* absmax_f32;
    const uint8_t* absmax_q;
    const float* nested_absmax;
    const float* nested_code;
    float offset;
    int32_t blocksize;
    int32_t nested_blocksize;
    int64_t n;
    uint16_t* out;
};

cudaError_t nf4_dequant_bf16(const Nf4Args& a, cudaStream_t stream);

}  // namespace jlora

#endif
