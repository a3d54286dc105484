package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadLocalRandom;
import jlora.model.ModelConfig;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * PEFT's default initialisation: A ~ U(-1/sqrt(in), 1/sqrt(in)) (torch kaiming_uniform_ with
 * a=sqrt(5)), B = 0. Checked against the distribution's exact moments with stated statistical
 * tolerances, and for determinism against re-runs with other thread counts and layer selections.
 */
class LoraWeightsTest {
    private static final ModelConfig QWEN = ModelConfigs.published("Qwen2.5-7B-Instruct");

    @Test
    void kaimingBoundWithSqrt5IsOneOverSqrtFanIn() {
        // torch: bound = sqrt(3) * gain / sqrt(fan_in), gain = sqrt(2 / (1 + a^2)); a^2 = 5 gives 1/sqrt(fan_in)
        for (long fanIn : new long[] {1, 64, 3584, 18944, 1 << 20}) {
            double want = 1 / Math.sqrt(fanIn);
            assertEquals(want, LoraInit.kaimingUniformBound(fanIn, LoraInit.PEFT_A), want * 1e-15, "fan_in " + fanIn);
        }
    }

    @Test
    void aIsUniformWithinTheBoundAndBIsZero() {
        long seed = ThreadLocalRandom.current().nextLong();
        // q_proj of layer 0: A [64, 3584]; down_proj: A [64, 18944]; about 1.4 M samples in all.
        LoraConfig c = LoraConfig.builder().r(64).targetModules(List.of("q_proj", "down_proj"))
                .layersToTransform(List.of(0)).seed(seed).build();
        try (Arena arena = Arena.ofConfined()) {
            LoraWeights w = LoraWeights.init(c, QWEN, arena, null);
            assertEquals(2, w.pairs().size());
            for (LoraPair p : w.pairs()) {
                String where = p.target().path() + " (seed " + seed + ")";
                float[] a = p.a().toFloatArray();
                double bound = 1 / Math.sqrt(p.target().inFeatures());
                int n = a.length;
                double sum = 0, sumSq = 0;
                int[] bins = new int[10];
                int worst = 0;
                for (int i = 0; i < n; i++) {
                    if (Float.isNaN(a[i]) || Math.abs(a[i]) > (float) bound) {
                        fail(where + ": A[" + i + "] = " + a[i] + " outside +-" + (float) bound);
                    }
                    if (Math.abs(a[i]) > Math.abs(a[worst])) worst = i;
                    sum += a[i];
                    sumSq += (double) a[i] * a[i];
                    bins[Math.min(9, (int) ((a[i] / bound + 1) / 2 * 10))]++;
                }
                // U(-b, b): mean 0, variance b^2/3; Var(x^2) = b^4/5 - b^4/9 = 4b^4/45. Tolerance: 6 standard errors.
                double seMean = bound / Math.sqrt(3.0 * n);
                double seVar = Math.sqrt(4.0 / 45) * bound * bound / Math.sqrt(n);
                double mean = sum / n, var = sumSq / n;
                assertTrue(Math.abs(mean) < 6 * seMean, where + ": mean " + mean + ", expected 0 +- " + 6 * seMean);
                assertTrue(Math.abs(var - bound * bound / 3) < 6 * seVar,
                        where + ": E[a^2] " + var + ", expected " + bound * bound / 3 + " +- " + 6 * seVar);
                // uniform over 10 equal bins: each count ~ Binomial(n, 0.1), 6 standard deviations
                double sdBin = Math.sqrt(n * 0.1 * 0.9);
                for (int k = 0; k < 10; k++) {
                    assertTrue(Math.abs(bins[k] - n * 0.1) < 6 * sdBin,
                            where + ": bin " + k + " holds " + bins[k] + " of " + n + ", expected " + n / 10 + " +- " + 6 * sdBin);
                }
                // the largest |a| comes close to the bound (n samples: gap ~ b/n)
                assertTrue(Math.abs(a[worst]) > bound * (1 - 20.0 / n), where + ": max |a| " + Math.abs(a[worst]));
                float[] b = p.b().toFloatArray();
                for (int i = 0; i < b.length; i++) {
                    if (Float.floatToRawIntBits(b[i]) != 0) fail(where + ": B[" + i + "] = " + b[i] + ", expected +0.0");
                }
            }
        }
    }

    @Test
    void valuesDependOnSeedAndNameOnlyNotOnThreadsOrLayerSelection() {
        long seed = ThreadLocalRandom.current().nextLong();
        ModelConfig tiny = ModelConfigs.tiny();
        LoraConfig all = LoraConfig.builder().r(8).targetModules("all-linear").seed(seed).build();
        try (Arena arena = Arena.ofShared();
             Arena confined = Arena.ofConfined();
             ForkJoinPool one = new ForkJoinPool(1);
             ForkJoinPool four = new ForkJoinPool(4)) {
            LoraWeights w1 = LoraWeights.init(all, tiny, arena, null, one);
            LoraWeights w4 = LoraWeights.init(all, tiny, arena, null, four);
            LoraWeights again = LoraWeights.init(all, tiny, confined, null); // filled on this thread
            LoraWeights layer1 = LoraWeights.init(all.toBuilder().layersToTransform(List.of(1)).build(), tiny, arena, null);
            LoraWeights onlyV = LoraWeights.init(all.toBuilder().targetModules(List.of("v_proj")).build(), tiny, arena, null);
            LoraWeights otherSeed = LoraWeights.init(all.toBuilder().seed(seed + 1).build(), tiny, arena, null);
            for (LoraPair p : w1.pairs()) {
                String where = p.target().path() + " (seed " + seed + ")";
                assertBitEqual(p.a(), w4.pair(p.target().path()).a(), where + ", 1 vs 4 threads");
                assertBitEqual(p.a(), again.pair(p.target().path()).a(), where + ", second run");
                if (p.target().layer() == 1) assertBitEqual(p.a(), layer1.pair(p.target().path()).a(), where + ", layer 1 only");
                if (p.target().module().equals("v_proj")) assertBitEqual(p.a(), onlyV.pair(p.target().path()).a(), where + ", v_proj only");
                assertFalse(Arrays.equals(p.a().toFloatArray(), otherSeed.pair(p.target().path()).a().toFloatArray()),
                        where + ": seed + 1 gave the same A");
            }
            // distinct modules get distinct streams
            assertFalse(Arrays.equals(w1.pairs().get(0).a().toFloatArray(), w1.pairs().get(7).a().toFloatArray()));
        }
    }

    @Test
    void trainableNormsStartFromTheBaseWeights() {
        long seed = ThreadLocalRandom.current().nextLong();
        ModelConfig tiny = ModelConfigs.tiny();
        var rnd = new java.util.SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            var base = new java.util.HashMap<String, Tensor>();
            jlora.model.WeightMap.of(tiny).expected().forEach((name, shape) -> {
                if (shape.rank() == 1) {
                    float[] v = new float[(int) shape.numel()];
                    for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
                    base.put(name, Tensor.of(jlora.tensor.DType.BF16, shape, v, arena));
                }
            });
            LoraWeights w = LoraWeights.init(LoraConfig.builder().trainableNorms(true).build(), tiny, arena, base::get);
            assertEquals(2 * tiny.numHiddenLayers() + 1, w.saved().size());
            for (var e : w.saved().entrySet()) {
                assertArrayEquals(base.get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), e.getKey() + " seed " + seed);
            }
            long lora = w.pairs().stream().mapToLong(p -> p.target().parameterCount()).sum();
            assertEquals(lora + (2L * tiny.numHiddenLayers() + 1) * tiny.hiddenSize(), w.parameterCount());
        }
    }

    static void assertBitEqual(Tensor want, Tensor got, String where) {
        assertEquals(want.shape(), got.shape(), where);
        float[] x = want.toFloatArray(), y = got.toFloatArray();
        for (int i = 0; i < x.length; i++) {
            if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                fail(where + ": first difference at [" + i + "]: " + x[i] + " vs " + y[i]);
            }
        }
    }
}
