package jlora.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Tensor storage against independent encodings: java.nio little-endian ByteBuffers for the
 * integer and float layouts, and {@link HalfFloatsTest#reference} (exact nearest-even) for the
 * narrow float types. Exact comparisons; NaN never passes.
 */
class TensorTest {
    private static final DType[] DENSE = {DType.F64, DType.F32, DType.F16, DType.BF16, DType.I64, DType.I32,
        DType.I16, DType.I8, DType.U8, DType.BOOL, DType.F8_E4M3, DType.F8_E5M2};

    @Test
    void allocateIsZeroFilledSizedAndAligned() {
        try (Arena arena = Arena.ofConfined()) {
            for (DType d : DENSE) {
                Tensor t = Tensor.allocate(d, Shape.of(3, 5), arena);
                assertEquals(15L * d.bits / 8, t.byteSize(), d.name());
                assertEquals(0, t.data().address() % 64, d + " storage not 64-byte aligned");
                for (long i = 0; i < t.byteSize(); i++) {
                    if (t.data().get(ValueLayout.JAVA_BYTE, i) != 0) fail(d + " byte " + i + " not zero");
                }
            }
            Tensor nf4 = Tensor.allocate(DType.NF4, Shape.of(3), arena);
            assertEquals(2, nf4.byteSize(), "3 nibbles take 2 bytes");
            assertThrows(UnsupportedOperationException.class, () -> nf4.getFloat(0));
            assertEquals(0, Tensor.allocate(DType.F32, Shape.of(0, 7), arena).byteSize());
        }
    }

    @Test
    void ofStoresLittleEndianAndRoundsNarrowTypesToNearestEven() {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[257];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(-20, 20)));
        v[0] = 1f; // a known layout: 1.0f is 00 00 80 3f little-endian
        try (Arena arena = Arena.ofConfined()) {
            Tensor f32 = Tensor.of(DType.F32, Shape.of(v.length), v, arena);
            ByteBuffer le = f32.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3f}, f32.data().asSlice(0, 4).toArray(ValueLayout.JAVA_BYTE));
            Tensor f64 = Tensor.of(DType.F64, Shape.of(v.length), v, arena);
            ByteBuffer le64 = f64.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            Tensor bf16 = Tensor.of(DType.BF16, Shape.of(v.length), v, arena);
            Tensor f16 = Tensor.of(DType.F16, Shape.of(v.length), v, arena);
            ByteBuffer leBf = bf16.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer leH = f16.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < v.length; i++) {
                String at = "index " + i + " value " + v[i] + " (seed " + seed + ")";
                assertEquals(Float.floatToRawIntBits(v[i]), le.getInt(4 * i), "F32 " + at);
                assertEquals(v[i], f32.getFloat(i), "F32 " + at);
                assertEquals((double) v[i], le64.getDouble(8 * i), "F64 " + at);
                assertEquals(v[i], f64.getFloat(i), "F64 " + at);
                int bfRef = HalfFloatsTest.reference(v[i], HalfFloatsTest.BF16_EXP, HalfFloatsTest.BF16_MAN);
                assertEquals(bfRef, leBf.getShort(2 * i) & 0xFFFF, "BF16 bits " + at);
                assertEquals(HalfFloatsTest.decode(bfRef, HalfFloatsTest.BF16_EXP, HalfFloatsTest.BF16_MAN),
                        (double) bf16.getFloat(i), "BF16 value " + at);
                int hRef = HalfFloatsTest.reference(v[i], HalfFloatsTest.F16_EXP, HalfFloatsTest.F16_MAN);
                assertEquals(hRef, leH.getShort(2 * i) & 0xFFFF, "F16 bits " + at);
                assertEquals(HalfFloatsTest.decode(hRef, HalfFloatsTest.F16_EXP, HalfFloatsTest.F16_MAN),
                        (double) f16.getFloat(i), "F16 value " + at);
            }
            assertArrayEquals(v, f32.toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> Tensor.of(DType.F32, Shape.of(2, 2), new float[3], arena));
        }
    }

    @Test
    void integerTypesReadTheirLittleEndianBytes() {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = 64;
        try (Arena arena = Arena.ofConfined()) {
            for (DType d : new DType[] {DType.I64, DType.I32, DType.I16, DType.I8, DType.U8, DType.BOOL}) {
                Tensor t = Tensor.allocate(d, Shape.of(n), arena);
                byte[] raw = new byte[(int) t.byteSize()];
                for (int i = 0; i < raw.length; i++) raw[i] = (byte) rnd.nextInt();
                MemorySegment.copy(MemorySegment.ofArray(raw), 0, t.data(), 0, raw.length);
                ByteBuffer le = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    long expected = switch (d) {
                        case I64 -> le.getLong(8 * i);
                        case I32 -> le.getInt(4 * i);
                        case I16 -> le.getShort(2 * i);
                        case I8 -> raw[i];
                        default -> raw[i] & 0xFF; // U8, BOOL are unsigned
                    };
                    String at = d + " index " + i + " (seed " + seed + ")";
                    assertEquals(expected, t.getLong(i), at);
                    assertEquals((float) expected, t.getFloat(i), at);
                }
                assertThrows(UnsupportedOperationException.class, () -> t.setFloat(0, 1f), d.name());
            }
        }
    }

    @Test
    void reshapeSharesBytesAndKeepsTheElementCount() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(DType.F32, Shape.of(2, 6), arena);
            Tensor r = t.reshape(Shape.of(3, 4));
            assertEquals(Shape.of(3, 4), r.shape());
            r.setFloat(7, 42f);
            assertEquals(42f, t.getFloat(7), "reshape is a view, not a copy");
            assertEquals(t.data().address(), r.data().address());
            assertThrows(IllegalArgumentException.class, () -> t.reshape(Shape.of(5, 2)));
            assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(DType.F32, Shape.of(3), arena.allocate(8)), "wrap checks the byte size");
        }
    }
}
