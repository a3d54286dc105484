package jlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Oracle: percentiles from the definition written here (numpy's default "linear" method): the
 * sorted values are points (i / (n - 1), x_i) of a piecewise-linear function and the q-th
 * percentile is its value at q / 100, found by searching the segment that holds q / 100.
 * Hand-computed cases beside it. Tolerance 1e-9 relative.
 */
class LatencyStatsTest {
    static double byDefinition(double[] values, double q) {
        double[] x = values.clone();
        Arrays.sort(x);
        if (x.length == 1) return x[0];
        double f = q / 100.0;
        for (int i = 0; i + 1 < x.length; i++) {
            double a = (double) i / (x.length - 1), b = (double) (i + 1) / (x.length - 1);
            if (f >= a && f <= b) return x[i] + (f - a) / (b - a) * (x[i + 1] - x[i]);
        }
        throw new AssertionError("q outside [0, 100]");
    }

    @Test
    void handComputed() {
        double[] v = {4, 1, 3, 2};
        assertEquals(2.5, LatencyStats.percentile(v, 50), 1e-12, "median of 1..4");
        assertEquals(3.85, LatencyStats.percentile(v, 95), 1e-12, "h = 3 * 0.95 = 2.85: 3 + 0.85");
        assertEquals(7.0, LatencyStats.percentile(new double[] {7}, 95), 0.0);
        LatencyStats s = LatencyStats.of(new double[] {100, 300}, 40);
        assertEquals(200, s.meanMs(), 1e-12);
        assertEquals(100, s.tokensPerSecond(), 1e-9, "40 tokens in 0.4 s");
        assertTrue(Double.isNaN(LatencyStats.of(new double[0], 0).meanMs()), "no request: no latency");
    }

    @Test
    void randomSetsAgreeWithTheDefinition() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (int trial = 0; trial < 50; trial++) {
            double[] v = new double[1 + rnd.nextInt(40)];
            for (int i = 0; i < v.length; i++) v[i] = 1000 * rnd.nextDouble();
            for (double q : new double[] {0, 50, 95, 100, 100 * rnd.nextDouble()}) {
                double want = byDefinition(v, q), got = LatencyStats.percentile(v, q);
                assertEquals(want, got, 1e-9 * Math.max(1, Math.abs(want)),
                        "seed " + seed + ", trial " + trial + ", n " + v.length + ", q " + q);
            }
        }
    }
}
