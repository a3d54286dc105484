package jlora.train;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/** Helpers for the optimizer tests: parameters from arrays, element-wise comparisons that name the worst element. */
final class TrainChecks {
    private TrainChecks() {}

    static Param param(String name, float[] value, Arena arena) {
        Shape s = Shape.of(value.length);
        return new Param(name, Tensor.of(DType.F32, s, value, arena), Tensor.allocate(DType.F32, s, arena));
    }

    static List<Param> randomParams(Random rnd, int[] sizes, Arena arena) {
        List<Param> out = new ArrayList<>();
        for (int k = 0; k < sizes.length; k++) {
            float[] v = new float[sizes[k]];
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            out.add(param("layers." + k + ".lora_A.weight", v, arena));
        }
        return out;
    }

    static void setGrad(Param p, float[] g) {
        MemorySegment.copy(g, 0, p.grad().data(), Layouts.F32, 0, g.length);
    }

    static float[] values(Param p) {
        return p.value().data().toArray(Layouts.F32);
    }

    /** Fails naming the worst element if any |actual - expected| > atol + rtol·|expected|; NaN fails. */
    static void assertClose(double[] expected, float[] actual, double rtol, double atol, String what) {
        double[] scale = new double[expected.length];
        for (int i = 0; i < scale.length; i++) scale[i] = Math.abs(expected[i]);
        assertClose(expected, actual, scale, rtol, atol, what);
    }

    /** Fails naming the worst element if any |actual - expected| > atol + rtol·scale[i]; NaN fails. */
    static void assertClose(double[] expected, float[] actual, double[] scale, double rtol, double atol, String what) {
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            double excess = err - (atol + rtol * scale[i]);
            if (Double.isNaN(actual[i]) || Double.isNaN(expected[i]) || Double.isNaN(err)) {
                fail(what + ": NaN at index " + i + " (expected " + expected[i] + ", actual " + actual[i] + ")");
            }
            if (excess > worstExcess) {
                worstExcess = excess;
                worst = i;
            }
        }
        if (worst >= 0) {
            fail(what + ": worst element " + worst + " expected " + expected[worst] + " actual " + actual[worst]
                    + " (|err| " + Math.abs(actual[worst] - expected[worst]) + " > " + atol + " + " + rtol + "·" + scale[worst] + ")");
        }
    }

    /** Byte-for-byte equality of two tensors' storage, naming the first differing byte. */
    static void assertSameBytes(Tensor expected, Tensor actual, String what) {
        MemorySegment a = expected.data();
        MemorySegment b = actual.data();
        if (a.byteSize() != b.byteSize()) fail(what + ": " + a.byteSize() + " bytes vs " + b.byteSize());
        long at = a.mismatch(b);
        if (at >= 0) {
            fail(what + ": first differing byte " + at + " (element " + at / expected.dtype().byteSize(1) + "): "
                    + a.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at) + " vs " + b.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at));
        }
    }

    static Tensor copy(Tensor t, Arena arena) {
        Tensor c = Tensor.allocate(t.dtype(), t.shape(), arena);
        MemorySegment.copy(t.data(), 0, c.data(), 0, t.byteSize());
        return c;
    }
}
