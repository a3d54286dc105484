package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Global-norm clipping against the norm computed exactly (BigDecimal sum of squares, rounded once)
 * and torch's {@code clip_grad_norm_} rule (coef = max_norm / (norm + 1e-6), clamped to 1) applied
 * here element by element; non-finite norms are reported and leave the gradients alone.
 */
class GradClipTest {

    private static double exactNorm(List<float[]> grads) {
        BigDecimal sum = BigDecimal.ZERO;
        for (float[] g : grads) for (float f : g) sum = sum.add(new BigDecimal(f).multiply(new BigDecimal(f)));
        return Math.sqrt(sum.doubleValue());
    }

    private static List<float[]> fill(List<Param> params, Random rnd, double scale) {
        List<float[]> out = new ArrayList<>();
        for (Param p : params) {
            float[] g = new float[(int) p.numel()];
            for (int i = 0; i < g.length; i++) g[i] = (float) (rnd.nextGaussian() * scale * Math.pow(10, -rnd.nextInt(3)));
            TrainChecks.setGrad(p, g);
            out.add(g);
        }
        return out;
    }

    @Test
    void normIsTheFp64GlobalNorm() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(rnd, new int[] {3, 1000, 200_003}, arena);
            List<float[]> g = fill(params, rnd, 1.0);
            double want = exactNorm(g);
            double got = GradClip.norm(params);
            // fp64 accumulation of 2e5 squares: relative error well below 1e-12
            assertEquals(want, got, want * 1e-12, "seed " + seed);
        }
    }

    @Test
    void clipsLikeClipGradNorm() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(rnd, new int[] {17, 5000, 70_000}, arena);
            List<float[]> g = fill(params, rnd, 1.0);
            double norm = exactNorm(g);
            double maxNorm = norm / 3;
            double got = GradClip.clip(params, maxNorm);
            assertEquals(norm, got, norm * 1e-12, "seed " + seed + " pre-clip norm");
            float coef = (float) (maxNorm / (got + 1e-6));
            for (int k = 0; k < params.size(); k++) {
                float[] after = params.get(k).grad().toFloatArray();
                for (int i = 0; i < after.length; i++) {
                    if (after[i] != g.get(k)[i] * coef) {
                        fail("seed " + seed + " param " + k + " element " + i + ": " + after[i] + " != " + g.get(k)[i] + "·" + coef);
                    }
                }
            }
            List<float[]> clipped = new ArrayList<>();
            for (Param p : params) clipped.add(p.grad().toFloatArray());
            assertEquals(maxNorm, exactNorm(clipped), maxNorm * 1e-6, "seed " + seed + " post-clip norm");
        }
    }

    @Test
    void belowTheLimitNothingChanges() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            List<Param> params = TrainChecks.randomParams(rnd, new int[] {100, 3000}, arena);
            List<float[]> g = fill(params, rnd, 1e-3);
            double norm = GradClip.clip(params, 1.0);
            assertTrue(norm < 1.0, "seed " + seed + " norm " + norm);
            for (int k = 0; k < params.size(); k++) {
                float[] after = params.get(k).grad().toFloatArray();
                for (int i = 0; i < after.length; i++) assertEquals(g.get(k)[i], after[i], "seed " + seed + " element " + i);
            }
        }
    }

    @Test
    void nonFiniteNormsAreReportedAndGradientsKept() {
        try (Arena arena = Arena.ofShared()) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                List<Param> params = TrainChecks.randomParams(new Random(5), new int[] {10, 10}, arena);
                List<float[]> g = fill(params, new Random(6), 10.0);
                params.get(1).grad().setFloat(4, bad);
                g.get(1)[4] = bad;
                double norm = GradClip.clip(params, 1.0);
                assertTrue(Float.isNaN(bad) ? Double.isNaN(norm) : norm == Double.POSITIVE_INFINITY, "norm " + norm + " for " + bad);
                for (int k = 0; k < 2; k++) {
                    float[] after = params.get(k).grad().toFloatArray();
                    for (int i = 0; i < 10; i++) assertEquals(g.get(k)[i], after[i], "element " + i + " with " + bad);
                }
            }
        }
    }
}
