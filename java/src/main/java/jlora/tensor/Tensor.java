package jlora.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A dense, row-major tensor in host memory or in a device's memory. Host bytes live in a
 * {@link MemorySegment} whose lifetime belongs to the {@link Arena} that made it (or to the
 * mapped file it views); device bytes belong to the device allocator that handed out the
 * address. Either way a Tensor never frees memory itself. Little-endian, as safetensors and
 * every GPU we target.
 *
 * <p>A device tensor ({@link #onDevice}) carries only its address: every host accessor
 * ({@link #data()}, {@link #getFloat}, {@link #toFloatArray} ...) throws
 * {@link IllegalStateException} naming the device, instead of reading memory the CPU cannot
 * see. Move bytes with the backend ({@code Backend#copy}).
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
    /** Null for host tensors; the device's name ("cuda:0") otherwise. */
    private final String device;
    private final long address;

    private Tensor(DType dtype, Shape shape, MemorySegment data) {
        this.dtype = Objects.requireNonNull(dtype);
        this.shape = Objects.requireNonNull(shape);
        this.data = Objects.requireNonNull(data);
        this.device = null;
        this.address = 0L;
        long expected = dtype.byteSize(shape.numel());
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor " + dtype + shape + " needs " + expected
                    + " bytes but the segment has " + data.byteSize());
        }
    }

    private Tensor(DType dtype, Shape shape, String device, long address) {
        this.dtype = Objects.requireNonNull(dtype);
        this.shape = Objects.requireNonNull(shape);
        this.data = null;
        this.device = Objects.requireNonNull(device);
        if (address == 0L) throw new IllegalArgumentException("null device address for " + dtype + shape);
        this.address = address;
    }

    /**
     * A tensor at {@code address} in the memory of {@code device} (e.g. "cuda:0"). The caller's
     * allocator owns the bytes ({@code dtype.byteSize(numel)} of them) and keeps them alive.
     */
    public static Tensor onDevice(String device, DType dtype, Shape shape, long address) {
        return new Tensor(dtype, shape, device, address);
    }

    /** True for host tensors, whose bytes {@link #data()} gives. */
    public boolean isHost() {
        return device == null;
    }

    /** "cpu" for host tensors, else the device's name. */
    public String device() {
        return device == null ? "cpu" : device;
    }

    /** The device address of element 0; only for device tensors. */
    public long deviceAddress() {
        if (device == null) throw new IllegalStateException(this + " is in host memory; it has no device address");
        return address;
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

    /** The host bytes; a device tensor throws (its bytes are not host memory). */
    public MemorySegment data() {
        requireHost();
        return data;
    }

    private void requireHost() {
        if (data == null) {
            throw new IllegalStateException(this + " lives on " + device + ": host code cannot read or write it;"
                    + " copy it to a host tensor with the backend first");
        }
    }

    public long numel() {
        return shape.numel();
    }

    public long byteSize() {
        return data != null ? data.byteSize() : dtype.byteSize(shape.numel());
    }

    /** Element {@code i} (flat index) widened to float; for the floating types and ints. */
    public float getFloat(long i) {
        requireHost();
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
        requireHost();
        switch (dtype) {
            case F32 -> data.setAtIndex(F32, i, v);
            case BF16 -> data.setAtIndex(I16, i, HalfFloats.f32ToBf16(v));
            case F16 -> data.setAtIndex(I16, i, HalfFloats.f32ToF16(v));
            case F64 -> data.setAtIndex(F64, i, v);
            default -> throw new UnsupportedOperationException("setFloat on " + dtype);
        }
    }

    public long getLong(long i) {
        requireHost();
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
        requireHost();
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
        return data != null ? new Tensor(dtype, newShape, data) : new Tensor(dtype, newShape, device, address);
    }

    /**
     * A view of {@code newShape.numel()} elements starting at element {@code first} (host or
     * device alike); byte-addressable types only.
     */
    public Tensor view(long first, Shape newShape) {
        if (dtype.bits % 8 != 0) throw new UnsupportedOperationException("view of packed " + dtype);
        long n = newShape.numel();
        if (first < 0 || n < 0 || first > numel() - n) {
            throw new IndexOutOfBoundsException("elements [" + first + ", +" + n + ") outside " + this);
        }
        long offset = dtype.byteSize(first);
        if (data != null) return new Tensor(dtype, newShape, data.asSlice(offset, dtype.byteSize(n)));
        return new Tensor(dtype, newShape, device, address + offset);
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + shape + (device == null ? "" : " on " + device) + "]";
    }
}
