package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Row blocks of an {@link Nf4Weight} against {@link Nf4Tensor#dequantize} of the whole tensor
 * (the bitsandbytes-compatible reference, already checked against golden vectors): bit-identical,
 * for row ranges that start and end inside absmax blocks and with odd element offsets.
 */
class Nf4WeightTest {
    @ParameterizedTest
    @CsvSource({"F32, false, 37, 24", "BF16, true, 37, 24", "BF16, false, 64, 96", "F32, true, 5, 13"})
    void rowBlocksEqualWholeDequantization(DType dtype, boolean doubleQuant, int out, int in) {
        long seed = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.allocate(dtype, Shape.of(out, in), arena);
            for (long i = 0; i < w.numel(); i++) w.setFloat(i, (float) (rng.nextGaussian() * 0.1));
            Nf4Tensor q = Nf4Tensor.quantize(w, 64, doubleQuant, arena);
            float[] whole = q.dequantize(arena).toFloatArray();
            Nf4Weight weight = new Nf4Weight(q);
            for (int trial = 0; trial < 10; trial++) {
                int row0 = rng.nextInt(out), rows = 1 + rng.nextInt(Math.min(32, out - row0));
                float[] dst = new float[rows * in];
                weight.rowsToFloat(row0, rows, dst);
                for (int k = 0; k < dst.length; k++) {
                    int i = row0 * in + k;
                    assertEquals(whole[i], dst[k], "element " + i + " (rows " + row0 + "+" + rows + "), seed " + seed);
                }
            }
        }
    }
}
