package jlora.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/** Raw fp32 access to tensor storage for the CPU kernels, and the argument checks they share. */
final class Floats {
    private Floats() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    static float get(MemorySegment s, long i) {
        return s.getAtIndex(F32, i);
    }

    static void set(MemorySegment s, long i, float v) {
        s.setAtIndex(F32, i, v);
    }

    static int getInt(MemorySegment s, long i) {
        return s.getAtIndex(I32, i);
    }

    static FloatVector load(MemorySegment s, long i) {
        return FloatVector.fromMemorySegment(S, s, i * 4, LE);
    }

    static void store(FloatVector v, MemorySegment s, long i) {
        v.intoMemorySegment(s, i * 4, LE);
    }

    /** Element i of an F32 or BF16 parameter vector (norm weights, biases, embedding rows). */
    static float param(Tensor t, long i) {
        return t.dtype() == DType.F32 ? t.data().getAtIndex(F32, i)
                : Float.intBitsToFloat((t.data().getAtIndex(I16, i) & 0xFFFF) << 16);
    }

    /**
     * The lanes of {@code v} summed in a fixed pairwise order (lane i += lane i + w for w = L/2,
     * ..., 1). {@code reduceLanes(ADD)} leaves the order unspecified, and HotSpot's intrinsic and
     * the Java fallback (interpreter, C1) do add in different orders, so a result would depend on
     * which tier ran: a resumed run would not reproduce an uninterrupted one bit for bit.
     */
    static float sumLanes(FloatVector v) {
        if (L > 16) throw new UnsupportedOperationException("vectors of " + L + " floats");
        if (L >= 16) v = v.add(v.rearrange(ROTATE_8));
        if (L >= 8) v = v.add(v.rearrange(ROTATE_4));
        if (L >= 4) v = v.add(v.rearrange(ROTATE_2));
        if (L >= 2) v = v.add(v.rearrange(ROTATE_1));
        return v.lane(0);
    }

    // Rotations by a constant number of lanes held in static finals, so C2 emits one permute each.
    private static final VectorShuffle<Float> ROTATE_8 = rotation(8);
    private static final VectorShuffle<Float> ROTATE_4 = rotation(4);
    private static final VectorShuffle<Float> ROTATE_2 = rotation(2);
    private static final VectorShuffle<Float> ROTATE_1 = rotation(1);

    private static VectorShuffle<Float> rotation(int lanes) {
        return VectorShuffle.fromOp(S, i -> (i + lanes) % S.length());
    }

    /** Dot product of n floats at a[ai..] and b[bi..], fp32 accumulation in vector lanes. */
    static float dot(MemorySegment a, long ai, MemorySegment b, long bi, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (; i <= n - L; i += L) acc = load(a, ai + i).fma(load(b, bi + i), acc);
            sum = sumLanes(acc);
        }
        for (; i < n; i++) sum += get(a, ai + i) * get(b, bi + i);
        return sum;
    }

    static void requireF32(String name, Tensor t) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException(name + " must be F32, got " + t);
    }

    static void requireI32(String name, Tensor t) {
        if (t.dtype() != DType.I32) throw new IllegalArgumentException(name + " must be I32, got " + t);
    }

    static void requireFloatParam(String name, Tensor t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(name + " must be F32 or BF16, got " + t);
        }
    }

    /** The tensor's shape must be exactly {@code dims}. */
    static void requireShape(String name, Tensor t, long... dims) {
        if (!t.shape().equals(jlora.tensor.Shape.of(dims))) {
            throw new IllegalArgumentException(name + " must have shape " + java.util.Arrays.toString(dims) + ", got " + t);
        }
    }

    /** Rows of a tensor viewed as [rows, last dim]. */
    static int rows(Tensor t) {
        return Math.toIntExact(t.numel() / t.shape().dim(-1));
    }

    static int lastDim(Tensor t) {
        return Math.toIntExact(t.shape().dim(-1));
    }
}
