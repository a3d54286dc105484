package jlora.backend;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/** A linear weight stored as a plain f32 or bf16 tensor {@code [out, in]}. */
public record DenseWeight(Tensor tensor) implements LinearWeight {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Integer> WIDE = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> HALF =
            VectorSpecies.of(short.class, VectorShape.forBitSize(WIDE.vectorBitSize() / 2));
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public DenseWeight {
        if (tensor.shape().rank() != 2) throw new IllegalArgumentException("linear weight must be [out, in], got " + tensor.shape());
        if (tensor.dtype() != DType.F32 && tensor.dtype() != DType.BF16) {
            throw new IllegalArgumentException("dense linear weight must be F32 or BF16, got " + tensor.dtype());
        }
        if (tensor.shape().dim(0) > Integer.MAX_VALUE || tensor.shape().dim(1) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("linear weight too large: " + tensor.shape());
        }
    }

    @Override
    public int outFeatures() {
        return (int) tensor.shape().dim(0);
    }

    @Override
    public int inFeatures() {
        return (int) tensor.shape().dim(1);
    }

    @Override
    public void rowsToFloat(int row0, int rows, float[] dst) {
        long in = inFeatures();
        long base = row0 * in;
        int n = Math.toIntExact(rows * in);
        var seg = tensor.data();
        if (tensor.dtype() == DType.F32) {
            java.lang.foreign.MemorySegment.copy(seg, F32, base * 4, dst, 0, n);
        } else {
            // bf16 is the top half of an f32: widening is a 16-bit shift, exact.
            int i = 0;
            for (; i <= n - WIDE.length(); i += WIDE.length()) {
                ShortVector h = ShortVector.fromMemorySegment(HALF, seg, (base + i) * 2, ByteOrder.LITTLE_ENDIAN);
                ((IntVector) h.convertShape(VectorOperators.S2I, WIDE, 0)).lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats().intoArray(dst, i);
            }
            for (; i < n; i++) dst[i] = Float.intBitsToFloat((seg.getAtIndex(I16, base + i) & 0xFFFF) << 16);
        }
    }
}
