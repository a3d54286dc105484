package jlora.infer;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * CausalLmDecoder.attendCached (queries over the cache, GQA, causal, sliding window) against
 * the textbook formula in fp64 with an explicit mask matrix, on random q/k/v: within 1e-5
 * relative. This covers the sliding-window path that the full-forward comparison cannot reach
 * (CausalLM refuses sequences longer than the window).
 */
class AttendCachedTest {
    @Test
    void matchesMaskedSoftmaxReference() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        for (int trial = 0; trial < 20; trial++) {
            int kvHeads = 1 + r.nextInt(3), heads = kvHeads * (1 + r.nextInt(3)), d = 1 + r.nextInt(16);
            int start = r.nextInt(30), t = 1 + r.nextInt(6), total = start + t;
            int window = r.nextBoolean() ? 0 : 1 + r.nextInt(12);
            float[] q = random(r, t * heads * d), k = random(r, total * kvHeads * d), v = random(r, total * kvHeads * d);
            float[] got = CausalLmDecoder.attendCached(q, k, v, start, t, heads, kvHeads, d, window);
            for (int i = 0; i < t; i++) {
                for (int h = 0; h < heads; h++) {
                    int g = h / (heads / kvHeads);
                    double[] s = new double[total];
                    boolean[] visible = new boolean[total];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < total; j++) {
                        int qp = start + i;
                        visible[j] = j <= qp && (window == 0 || qp - j < window);
                        if (!visible[j]) continue;
                        for (int e = 0; e < d; e++) s[j] += (double) q[(i * heads + h) * d + e] * k[(j * kvHeads + g) * d + e];
                        s[j] /= Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < total; j++) if (visible[j]) sum += s[j] = Math.exp(s[j] - max);
                    for (int e = 0; e < d; e++) {
                        double want = 0;
                        for (int j = 0; j < total; j++) if (visible[j]) want += s[j] / sum * v[(j * kvHeads + g) * d + e];
                        float x = got[(i * heads + h) * d + e];
                        if (Float.isNaN(x)) fail("seed " + seed + ": NaN");
                        assertTrue(Math.abs(x - want) <= 1e-5 * (1 + Math.abs(want)), "seed " + seed + " trial " + trial
                                + " query " + i + " head " + h + " dim " + e + ": got " + x + " reference " + want);
                    }
                }
            }
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
