package jlora.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.IntStream;

import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * An NF4-quantized weight in bitsandbytes' layout (what {@code Params4bit} holds and a
 * {@code *-bnb-4bit} checkpoint stores; see {@link Bnb4bitFormat} for the file side).
 *
 * @param packed    U8, {@code ceil(n/2)} bytes (bitsandbytes shapes it {@code [n/2, 1]}); element
 *                  2i of the row-major flattened weight in the high nibble of byte i
 * @param absmax    F32 {@code [blocks]}, or U8 {@code [blocks]} (8-bit codes) when {@code nested}
 * @param nested    the double-quantization state of absmax, if any
 * @param shape     the original weight shape, {@code [out, in]} for a linear layer
 * @param dtype     the dtype the weight had before quantization (BF16, F16 or F32): bitsandbytes
 *                  dequantizes to it
 * @param blocksize elements per absmax block (64 by default)
 */
public record Nf4Tensor(Tensor packed, Tensor absmax, Optional<Nested> nested, Shape shape, DType dtype, int blocksize) {

    /**
     * @param nestedAbsmax F32 {@code [ceil(blocks / blocksize)]}
     * @param code         F32 {@code [256]}, the map the absmax codes index ({@code nested_quant_map})
     * @param offset       the mean subtracted before quantizing
     * @param blocksize    256 in bitsandbytes
     */
    public record Nested(Tensor nestedAbsmax, Tensor code, float offset, int blocksize) {
        public Nested {
            Objects.requireNonNull(nestedAbsmax);
            Objects.requireNonNull(code);
            if (nestedAbsmax.dtype() != DType.F32) throw new IllegalArgumentException("nested absmax must be F32");
            if (code.dtype() != DType.F32 || code.numel() != 256) throw new IllegalArgumentException("nested code must be F32[256]");
        }
    }

    public Nf4Tensor {
        Objects.requireNonNull(packed);
        Objects.requireNonNull(absmax);
        Objects.requireNonNull(nested);
        Objects.requireNonNull(shape);
        Objects.requireNonNull(dtype);
        Nf4.checkBlocksize(blocksize);
        if (dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.F32) {
            throw new IllegalArgumentException("NF4 weights come from BF16, F16 or F32, not " + dtype);
        }
        if (packed.dtype() != DType.U8) throw new IllegalArgumentException("packed NF4 data must be U8, got " + packed.dtype());
        DType absmaxType = nested.isPresent() ? DType.U8 : DType.F32;
        if (absmax.dtype() != absmaxType) {
            throw new IllegalArgumentException("absmax must be " + absmaxType + (nested.isPresent() ? " when double-quantized" : "") + ", got " + absmax.dtype());
        }
        Nf4.checkSizes(packed.numel(), absmax.numel(), shape.numel(), blocksize);
        nested.ifPresent(n -> {
            long want = Math.ceilDiv(absmax.numel(), (long) n.blocksize());
            if (n.nestedAbsmax().numel() != want) {
                throw new IllegalArgumentException(absmax.numel() + " absmax codes in blocks of " + n.blocksize() + " need " + want
                        + " nested absmax values, got " + n.nestedAbsmax().numel());
            }
        });
    }

    public long numel() {
        return shape.numel();
    }

    public long blocks() {
        return absmax.numel();
    }

    /**
     * Quantizes {@code weight} (BF16, F16 or F32) as {@code bitsandbytes.functional.quantize_4bit(
     * weight, blocksize, compress_statistics=doubleQuant, quant_type="nf4")} does, streaming one
     * block at a time from the tensor; the result's storage comes from {@code arena}.
     */
    public static Nf4Tensor quantize(Tensor weight, int blocksize, boolean doubleQuant, Arena arena) {
        return quantize(weight, blocksize, doubleQuant, Reciprocal.IEEE, arena);
    }

    /** As {@link #quantize(Tensor, int, boolean, Arena)} with the block scale {@code rcp.of(absmax)}. */
    public static Nf4Tensor quantize(Tensor weight, int blocksize, boolean doubleQuant, Reciprocal rcp, Arena arena) {
        Nf4.checkBlocksize(blocksize);
        DType dt = weight.dtype();
        if (dt != DType.BF16 && dt != DType.F16 && dt != DType.F32) {
            throw new IllegalArgumentException("NF4 quantization takes BF16, F16 or F32 weights, not " + dt);
        }
        long n = weight.numel();
        long blocks = Math.ceilDiv(n, (long) blocksize);
        if (blocks > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor too large: " + weight.shape());
        Tensor packed = Tensor.allocate(DType.U8, Shape.of(Math.ceilDiv(n, 2L), 1), arena);
        MemorySegment out = packed.data();
        float[] absmax = new float[(int) blocks];
        int chunks = (int) Math.ceilDiv(blocks, (long) CHUNK_BLOCKS);
        IntStream range = IntStream.range(0, chunks);
        if (chunks > 1 && sharedAccess(weight.data()) && sharedAccess(out)) range = range.parallel();
        range.forEach(c -> {
            float[] block = new float[blocksize];
            short[] halves = new short[blocksize];
            byte[] bytes = new byte[blocksize / 2];
            long end = Math.min(blocks, (long) (c + 1) * CHUNK_BLOCKS);
            for (long b = (long) c * CHUNK_BLOCKS; b < end; b++) {
                long from = b * blocksize;
                int len = (int) Math.min(blocksize, n - from);
                readBlock(weight, from, len, block, halves);
                absmax[(int) b] = Nf4.quantizeBlock(block, 0, len, bytes, rcp);
                MemorySegment.copy(bytes, 0, out, ValueLayout.JAVA_BYTE, from / 2, (len + 1) / 2);
            }
        });
        if (!doubleQuant) {
            return new Nf4Tensor(packed, f32(absmax, arena), Optional.empty(), weight.shape(), dt, blocksize);
        }
        DoubleQuant.Nested dq = DoubleQuant.quantize(absmax, DynamicMap.signed(), DoubleQuant.mean(absmax), rcp);
        Tensor q = Tensor.allocate(DType.U8, Shape.of(absmax.length), arena);
        MemorySegment.copy(dq.q(), 0, q.data(), ValueLayout.JAVA_BYTE, 0, dq.q().length);
        Nested nested = new Nested(f32(dq.nestedAbsmax(), arena), f32(dq.code(), arena), dq.offset(), dq.blocksize());
        return new Nf4Tensor(packed, q, Optional.of(nested), weight.shape(), dt, blocksize);
    }

    /** The fp32 absmax per block; rebuilt from the 8-bit codes when double-quantized. */
    public float[] absmaxF32() {
        if (nested.isEmpty()) return absmax.toFloatArray();
        Nested n = nested.get();
        byte[] q = absmax.data().toArray(ValueLayout.JAVA_BYTE);
        return DoubleQuant.dequantize(q, n.nestedAbsmax().toFloatArray(), n.code().toFloatArray(), n.offset(), n.blocksize());
    }

    /**
     * The packed nibbles viewed as an {@link DType#NF4} tensor of the weight's shape (same bytes, no
     * copy), for kernels that take the element shape with the packed storage.
     */
    public Tensor nf4View() {
        return Tensor.wrap(DType.NF4, shape, packed.data());
    }

    /** The packed nibbles as a byte array (small tensors, tests). */
    public byte[] packedBytes() {
        return packed.data().toArray(ValueLayout.JAVA_BYTE);
    }

    /** Dequantizes to {@code outType} (F32, BF16 or F16): the fp32 product rounded once, as the kernel stores it. */
    public Tensor dequantize(DType outType, Arena arena) {
        if (outType != DType.F32 && outType != DType.BF16 && outType != DType.F16) {
            throw new IllegalArgumentException("NF4 dequantizes to F32, BF16 or F16, not " + outType);
        }
        float[] am = absmaxF32();
        Tensor out = Tensor.allocate(outType, shape, arena);
        MemorySegment src = packed.data();
        long n = numel();
        for (long i = 0; i < n; i++) {
            int b = src.get(ValueLayout.JAVA_BYTE, i >>> 1);
            int q = (i & 1) == 0 ? (b >>> 4) & 0x0F : b & 0x0F;
            float v = Nf4.code(q) * am[(int) (i / blocksize)];
            out.setFloat(i, v); // BF16/F16: one round-to-nearest-even, as the kernel's store
        }
        return out;
    }

    /** Dequantizes to the dtype the weight had before quantization (what bitsandbytes returns). */
    public Tensor dequantize(Arena arena) {
        return dequantize(dtype, arena);
    }

    /**
     * Reads one weight of a pre-quantized bitsandbytes checkpoint from its safetensors entries
     * ({@code weightName}, {@code weightName + ".absmax"}, ...); see {@link Bnb4bitFormat}.
     */
    public static Nf4Tensor fromBitsandbytes(java.util.Map<String, Tensor> parts, String weightName) {
        return Bnb4bitFormat.read(parts, weightName);
    }

    /** The safetensors entries bitsandbytes writes for this weight, named after {@code weightName}. */
    public java.util.Map<String, Tensor> toBitsandbytes(String weightName, Arena arena) {
        return Bnb4bitFormat.write(this, weightName, arena);
    }

    /** Blocks per parallel task: large enough to amortise the task, small enough to balance two cores. */
    private static final int CHUNK_BLOCKS = 4096;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Memory that pool threads may touch: a confined arena's memory stays on its owner thread. */
    private static boolean sharedAccess(MemorySegment s) {
        return s.isAccessibleBy(new Thread(() -> {}));
    }

    /** Elements [from, from+len) widened to fp32 exactly (what the kernel's (float) cast does). */
    private static void readBlock(Tensor w, long from, int len, float[] dst, short[] halves) {
        MemorySegment seg = w.data();
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(seg, F32_LE, from * 4, dst, 0, len);
            case BF16 -> {
                MemorySegment.copy(seg, I16_LE, from * 2, halves, 0, len);
                for (int k = 0; k < len; k++) dst[k] = Float.intBitsToFloat((halves[k] & 0xFFFF) << 16);
            }
            case F16 -> {
                MemorySegment.copy(seg, I16_LE, from * 2, halves, 0, len);
                for (int k = 0; k < len; k++) dst[k] = Float.float16ToFloat(halves[k]);
            }
            default -> throw new IllegalArgumentException("NF4 quantization takes BF16, F16 or F32 weights, not " + w.dtype());
        }
    }

    private static Tensor f32(float[] v, Arena arena) {
        return Tensor.of(DType.F32, Shape.of(v.length), v, arena);
    }
}
