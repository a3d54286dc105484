package jlora.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A dense, row-major tensor in host memory. The bytes live in a {@link MemorySegment} whose
 * lifetime belongs to the {@link Arena} that made it (or to the mapped file it views): a
 * Tensor never frees memory itself. Little-endian, as safetensors and every GPU we target.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final DType dtype;
    private final Shape shape;
    private final MemorySegment data;

    private Tensor(DType dtype, Shape shape, MemorySegment data) {
        this.dtype = Objects.requireNonNull(dtype);
        this.shape = Objects.requireNonNull(shape);
        this.data = Objects.requireNonNull(data);
        long expected = dtype.byteSize(shape.numel());
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor " + dtype + shape + " needs " + expected
                    + " bytes but the segment has " + data.byteSize());
        }
    }

    /** Views existing bytes (a mapped file region, another tensor's storage) without copying. */
    public static Tensor wrap(DType dtype, Shape shape, MemorySegment data) {
        return new Tensor(dtype, shape, data);
    }

    /** Zero-filled storage from {@code arena}, 64-byte aligned for the vector kernels. */
    public static Tensor allocate(DType dtype, Shape shape, Arena arena) {
        return new Tensor(dtype, shape, arena.allocate(dtype.byteSize(shape.numel()), 64));
    }

    /** A tensor of {@code dtype} holding {@code values} (rounded to nearest even if narrower). */
    public static Tensor of(DType dtype, Shape shape, float[] values, Arena arena) {
        if (values.length != shape.numel()) {
            throw new IllegalArgumentException(values.length + " values for shape " + shape);
        }
        Tensor t = allocate(dtype, shape, arena);
        for (int i = 0; i < values.length; i++) t.setFloat(i, values[i]);
        return t;
    }

    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    public MemorySegment data() {
        return data;
    }

    public long numel() {
        return shape.numel();
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** Element {@code i} (flat index) widened to float; for the floating types and ints. */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case BF16 -> HalfFloats.bf16ToF32(data.getAtIndex(I16, i));
            case F16 -> HalfFloats.f16ToF32(data.getAtIndex(I16, i));
            case F64 -> (float) data.getAtIndex(F64, i);
            case I32 -> data.getAtIndex(I32, i);
            case I64 -> data.getAtIndex(I64, i);
            case I16 -> data.getAtIndex(I16, i);
            case U8, BOOL -> Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, i));
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            default -> throw new UnsupportedOperationException("getFloat on " + dtype + "; dequantize first");
        };
    }

    public void setFloat(long i, float v) {
        switch (dtype) {
            case F32 -> data.setAtIndex(F32, i, v);
            case BF16 -> data.setAtIndex(I16, i, HalfFloats.f32ToBf16(v));
            case F16 -> data.setAtIndex(I16, i, HalfFloats.f32ToF16(v));
            case F64 -> data.setAtIndex(F64, i, v);
            default -> throw new UnsupportedOperationException("setFloat on " + dtype);
        }
    }

    public long getLong(long i) {
        return switch (dtype) {
            case I64 -> data.getAtIndex(I64, i);
            case I32 -> data.getAtIndex(I32, i);
            case I16 -> data.getAtIndex(I16, i);
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, i));
            default -> throw new UnsupportedOperationException("getLong on " + dtype);
        };
    }

    /** All elements widened to a fresh float array (tests, small tensors; not the hot path). */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException("tensor too large for a Java array: " + shape);
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        return out;
    }

    /** Same bytes, another shape with the same element count. */
    public Tensor reshape(Shape newShape) {
        if (newShape.numel() != numel()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " to " + newShape);
        }
        return new Tensor(dtype, newShape, data);
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + shape + "]";
    }
}
