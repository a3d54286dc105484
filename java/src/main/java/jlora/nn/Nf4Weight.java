package jlora.nn;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jlora.backend.LinearWeight;
import jlora.quant.Nf4;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.HalfFloats;

/**
 * A frozen linear weight held as NF4 (QLoRA): the kernels ask for a block of rows as fp32 and get
 * exactly those rows dequantized, so the fp32 matrix never exists whole. The per-block absmax
 * (one float per 64 weights, rebuilt once from its 8-bit codes when double-quantized) is the only
 * thing kept unpacked.
 *
 * <p>Each value is {@code code[q] · absmax[block]} formed in fp32 and then rounded once to the
 * dtype the weight had before quantization, which is what bitsandbytes' dequantize returns and
 * what its 4-bit matmul multiplies with.
 */
public final class Nf4Weight implements LinearWeight {
    private static final float[] CODE = Nf4.codeBook();

    private final Nf4Tensor tensor;
    private final float[] absmax;
    private final int out;
    private final int in;

    public Nf4Weight(Nf4Tensor tensor) {
        if (tensor.shape().rank() != 2) throw new IllegalArgumentException("NF4 linear weight must be [out, in], got " + tensor.shape());
        this.tensor = tensor;
        this.absmax = tensor.absmaxF32();
        this.out = Math.toIntExact(tensor.shape().dim(0));
        this.in = Math.toIntExact(tensor.shape().dim(1));
    }

    public Nf4Tensor tensor() {
        return tensor;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public void rowsToFloat(int row0, int rows, float[] dst) {
        MemorySegment packed = tensor.packed().data();
        int blocksize = tensor.blocksize();
        DType dtype = tensor.dtype();
        long first = (long) row0 * in;
        int n = Math.toIntExact((long) rows * in);
        for (int k = 0; k < n; k++) {
            long i = first + k;
            int b = packed.get(ValueLayout.JAVA_BYTE, i >>> 1);
            // bitsandbytes packs element 2j in the high nibble of byte j.
            int q = (i & 1) == 0 ? (b >>> 4) & 0x0F : b & 0x0F;
            float v = CODE[q] * absmax[(int) (i / blocksize)];
            dst[k] = switch (dtype) {
                case BF16 -> HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v));
                case F16 -> HalfFloats.f16ToF32(HalfFloats.f32ToF16(v));
                default -> v;
            };
        }
    }
}
