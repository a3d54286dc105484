package jlora.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;

import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Lookup equals the table rows exactly (f32, and bf16 widened); the scatter-add backward
 * (repeated ids included) equals a float64 sum onto a non-zero prior and float64 finite
 * differences of the lookup; an id outside the vocabulary is refused.
 */
class EmbeddingTest {
    private static final int V = 11, D = 19;

    @Test
    void lookupAndScatterAddMatchFloat64() {
        Oracle o = new Oracle();
        int[] ids = {3, 0, 3, 10, 7, 3, 1};
        int T = ids.length;
        double[] table = o.uniform(V * D, 1), dy = o.uniform(T * D, 1), prior = o.uniform(V * D, 1);
        Oracle.Fn lookup = in -> {
            double[] y = new double[T * D];
            for (int t = 0; t < T; t++) for (int i = 0; i < D; i++) y[t * D + i] = in[0][ids[t] * D + i];
            return y;
        };
        var cpu = new CpuBackend();
        for (DType type : new DType[] {DType.F32, DType.BF16}) {
            Tensor out = o.poisoned(T, D);
            cpu.embedding(o.tensor(type, table, V, D), o.i32(ids), out);
            double[] seen = type == DType.BF16 ? Oracle.roundToBf16(table) : table;
            o.assertClose("embedding " + type, lookup.apply(new double[][] {seen}), out, 0.0);
        }
        Tensor dTable = o.f32(prior, V, D);
        cpu.embeddingBackward(o.i32(ids), o.f32(dy, T, D), dTable);
        double[] grad = Oracle.minus(Oracle.values(dTable), prior);
        o.assertClose("dTable vs finite differences", Oracle.finiteDifference(lookup, new double[][] {table}, 0, dy), grad, Oracle.GRAD_TOL);
    }

    @Test
    void idOutsideVocabularyIsRefused() {
        Oracle o = new Oracle();
        assertThrows(IllegalArgumentException.class,
                () -> new CpuBackend().embedding(o.f32(o.uniform(V * D, 1), V, D), o.i32(new int[] {2, V}), o.poisoned(2, D)));
    }
}
