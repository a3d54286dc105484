package jlora.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import jlora.tensor.HalfFloats;

/**
 * A table of correctly rounded reciprocals must reproduce IEEE 1/x for every bf16 value in the
 * normal range (IEEE division is exponent-invariant there too), keep signs, and fall back to
 * IEEE where the table has no entry.
 */
class ReciprocalTableTest {
    private static ReciprocalTable ieeeTable() {
        float[] t = new float[1024];
        for (int k = 0; k < 1024; k++) t[k] = 1.0f / (1.0f + k / 1024.0f);
        return new ReciprocalTable(t);
    }

    @Test
    void ieeeTableReproducesDivisionForRandomBf16Values() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        ReciprocalTable table = ieeeTable();
        for (int i = 0; i < 20000; i++) {
            float a = HalfFloats.bf16ToF32(HalfFloats.f32ToBf16((float) (Math.exp(r.nextGaussian() * 10) * (r.nextBoolean() ? 1 : -1))));
            if (!Float.isFinite(a) || a == 0) continue;
            assertEquals(Float.floatToIntBits(1.0f / a), Float.floatToIntBits(table.of(a)), "seed " + seed + " a = " + a);
        }
    }

    @Test
    void uncoveredMantissasFallBackAndBadTablesAreRefused() {
        ReciprocalTable table = ieeeTable();
        assertFalse(ReciprocalTable.covers(0.1f));
        assertTrue(ReciprocalTable.covers(0.375f));
        assertEquals(1.0f / 0.1f, table.of(0.1f));
        assertEquals(Float.POSITIVE_INFINITY, table.of(0.0f));
        float[] bad = new float[1024];
        assertThrows(IllegalArgumentException.class, () -> new ReciprocalTable(bad));
    }
}
