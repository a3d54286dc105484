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
        long first = (long) row0 * in;
        long end = first + (long) rows * in;
        int blocksize = tensor.blocksize();
        // One absmax block at a time; inside it, whole bytes (two codes each) where alignment allows.
        for (long i = first; i < end; ) {
            long blockEnd = Math.min(end, (i / blocksize + 1) * blocksize);
            float scale = absmax[(int) (i / blocksize)];
            int k = (int) (i - first);
            if ((i & 1) == 1) dst[k++] = round(CODE[packed.get(ValueLayout.JAVA_BYTE, i >>> 1) & 0x0F] * scale);
            long j = (i + 1) & ~1L;
            for (; j + 1 < blockEnd; j += 2) {
                int b = packed.get(ValueLayout.JAVA_BYTE, j >>> 1);
                // bitsandbytes packs element 2m in the high nibble of byte m.
                dst[k++] = round(CODE[(b >>> 4) & 0x0F] * scale);
                dst[k++] = round(CODE[b & 0x0F] * scale);
            }
            if (j < blockEnd) dst[k] = round(CODE[(packed.get(ValueLayout.JAVA_BYTE, j >>> 1) >>> 4) & 0x0F] * scale);
            i = blockEnd;
        }
    }

    /** The fp32 product rounded once to the weight's original dtype, as bitsandbytes' dequantize stores it. */
    private float round(float v) {
        return switch (tensor.dtype()) {
            case BF16 -> HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v));
            case F16 -> HalfFloats.f16ToF32(HalfFloats.f32ToF16(v));
            default -> v;
        };
    }
}
