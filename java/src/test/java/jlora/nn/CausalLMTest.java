package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import jlora.UserError;
import jlora.autograd.Tape;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole model against {@link ReferenceLM}, an independent float64 forward written from the
 * transformers modeling code: logits (relative error, max |diff| / max |ref|, below 1e-4), LoRA
 * and norm gradients against float64 central differences of that reference, packing against
 * separate sequences, and gradient checkpointing against the plain backward.
 */
class CausalLMTest {
    static final CpuBackend CPU = new CpuBackend();
    final long seed = System.nanoTime();
    final SplittableRandom rng = new SplittableRandom(seed);

    @TempDir
    Path tmp;

    static LoraConfig lora(int r, double dropout, boolean norms, long seed) {
        return LoraConfig.builder().r(r).loraAlpha(2.0 * r).loraDropout(dropout).targetModules("all-linear")
                .trainableNorms(norms).seed(seed).build();
    }

    int[] randomIds(int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    static int[] range(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        return p;
    }

    /** B is zero after PEFT's init; give it random values so the adapter changes the output. */
    void randomizeB(CausalLM m, ReferenceLM ref) {
        for (LoraPair p : m.lora().pairs()) {
            Tensor b = p.b();
            for (long i = 0; i < b.numel(); i++) b.setFloat(i, (float) (0.05 * TinyModels.gaussian(rng)));
            if (ref != null) ref.lora(p.target().path(), p.a(), b, p.target().scale());
        }
    }

    static void assertClose(double[][] ref, float[] got, double tol, String what) {
        int v = ref[0].length;
        double maxRef = 0, worst = -1;
        int at = -1;
        for (int t = 0; t < ref.length; t++) {
            for (int j = 0; j < v; j++) {
                maxRef = Math.max(maxRef, Math.abs(ref[t][j]));
                double d = Math.abs(ref[t][j] - got[t * v + j]);
                if (!(d <= worst) ) { worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d; at = t * v + j; }
            }
        }
        double rel = worst / maxRef;
        assertTrue(rel < tol, what + ": relative error " + rel + " at [" + at / v + ", " + at % v + "]: reference "
                + ref[at / v][at % v] + ", jlora " + got[at]);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "llama", "qwen3", "mistral"})
    void logitsMatchFloat64Reference(String type) {
        Path dir = TinyModels.write(tmp.resolve(type), type, seed);
        ReferenceLM ref = new ReferenceLM(dir);
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withLora(lora(4, 0, false, seed)))) {
            randomizeB(m, ref);
            int[] ids = randomIds(12, m.config().vocabSize());
            int[] pos = range(12);
            assertClose(ref.logits(ids, pos), m.forward(ids, pos, true), 1e-4, type + " seed " + seed);
            // The last-position path gives the last row.
            double[][] last = {ref.logits(ids, pos)[11]};
            assertClose(last, m.forward(ids, pos), 1e-4, type + " last position, seed " + seed);
        }
    }

    /** Loaded as bf16: the same reference with every weight rounded to bf16 first. */
    @Test
    void bf16LoadMatchesReferenceOnRoundedWeights() {
        Path dir = TinyModels.write(tmp.resolve("qwen3"), "qwen3", seed);
        ReferenceLM ref = new ReferenceLM(dir);
        for (double[] a : ref.w.values()) {
            for (int i = 0; i < a.length; i++) {
                a[i] = jlora.tensor.HalfFloats.bf16ToF32(jlora.tensor.HalfFloats.f32ToBf16((float) a[i]));
            }
        }
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withDtype(jlora.tensor.DType.BF16))) {
            int[] ids = randomIds(10, 97), pos = range(10);
            assertClose(ref.logits(ids, pos), m.forward(ids, pos, true), 1e-4, "bf16, seed " + seed);
        }
    }

    @Test
    void packedDocumentsEqualSeparateSequences() {
        Path dir = TinyModels.write(tmp.resolve("llama"), "llama", seed);
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT)) {
            int[] a = randomIds(5, 97), b = randomIds(7, 97);
            int[] ids = new int[12], pos = new int[12];
            System.arraycopy(a, 0, ids, 0, 5);
            System.arraycopy(b, 0, ids, 5, 7);
            System.arraycopy(range(5), 0, pos, 0, 5);
            System.arraycopy(range(7), 0, pos, 5, 7);
            float[] packed = m.forward(ids, pos, true);
            float[] la = m.forward(a, range(5), true), lb = m.forward(b, range(7), true);
            double[][] sep = new double[12][97];
            for (int t = 0; t < 12; t++) for (int v = 0; v < 97; v++) sep[t][v] = t < 5 ? la[t * 97 + v] : lb[(t - 5) * 97 + v];
            assertClose(sep, packed, 1e-5, "packed vs separate, seed " + seed);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama"})
    void loraAndNormGradientsMatchFiniteDifferences(String type) {
        Path dir = TinyModels.write(tmp.resolve(type), type, seed);
        ReferenceLM ref = new ReferenceLM(dir);
        // Vocabulary chunks of 40 over 97 tokens: the fused head's chunking, ragged last chunk included.
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withLora(lora(4, 0, true, seed)).withVocabChunk(40))) {
            randomizeB(m, ref);
            int n = 10;
            int[] ids = randomIds(n, 97), pos = {0, 1, 2, 3, 0, 1, 2, 3, 4, 5}, labels = ids.clone();
            labels[4] = -100; // first token of the second document: nothing predicts across the boundary
            labels[7] = -100;
            try (Tape tape = new Tape(CPU)) {
                LossSum loss = m.loss(ids, pos, labels, tape);
                double[] refLoss = ref.loss(ids, pos, labels);
                assertEquals(refLoss[1], loss.count());
                assertEquals(refLoss[0], loss.sum(), 1e-4 * Math.abs(refLoss[0]), "loss, seed " + seed);
                tape.backward(1f);
            }
            List<String> names = List.copyOf(m.gradients().keySet());
            double h = 1e-4;
            for (int s = 0; s < 12; s++) {
                String name = names.get(rng.nextInt(names.size()));
                double[] p = ref.w.get(name);
                int i = rng.nextInt(p.length);
                double keep = p[i];
                p[i] = keep + h;
                double up = ref.loss(ids, pos, labels)[0];
                p[i] = keep - h;
                double down = ref.loss(ids, pos, labels)[0];
                p[i] = keep;
                double fd = (up - down) / (2 * h);
                double got = m.gradients().get(name).getFloat(i);
                assertTrue(Math.abs(got - fd) <= 1e-3 * Math.abs(fd) + 1e-5,
                        name + "[" + i + "]: finite difference " + fd + ", jlora " + got + ", seed " + seed);
            }
        }
    }

    /**
     * modules_to_save embed_tokens (and lm_head where untied): the table's gradient against float64
     * central differences of {@link ReferenceLM}. Tied (qwen3) the one table is both the input
     * lookup and the head, so the difference sees both uses and jlora must sum them; the rows
     * checked are mostly those of tokens in the batch (both paths) plus some that only the head
     * touches. Tolerance as for the LoRA gradients: 1e-3 relative plus 1e-5.
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama"})
    void embeddingAndHeadGradientsMatchFiniteDifferences(String type) {
        Path dir = TinyModels.write(tmp.resolve(type), type, seed);
        ReferenceLM ref = new ReferenceLM(dir);
        boolean tied = ref.c.tieWordEmbeddings();
        List<String> toSave = tied ? List.of("embed_tokens") : List.of("embed_tokens", "lm_head");
        LoraConfig cfg = LoraConfig.builder().r(4).loraAlpha(8).targetModules("all-linear").modulesToSave(toSave)
                .seed(seed).build();
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withLora(cfg).withVocabChunk(40))) {
            randomizeB(m, ref);
            List<String> tables = tied ? List.of(LoraWeights.EMBED_WEIGHT) : List.of(LoraWeights.EMBED_WEIGHT, LoraWeights.LM_HEAD_WEIGHT);
            assertEquals(tables, m.gradients().keySet().stream().filter(tables::contains).toList(), "trainable tables, seed " + seed);
            int n = 10, d = ref.c.hiddenSize();
            int[] ids = randomIds(n, 97), pos = range(n), labels = ids.clone();
            try (Tape tape = new Tape(CPU)) {
                LossSum loss = m.loss(ids, pos, labels, tape);
                tape.backward(1f);
                double[] refLoss = ref.loss(ids, pos, labels);
                assertEquals(refLoss[0], loss.sum(), 1e-4 * Math.abs(refLoss[0]), "loss, seed " + seed);
            }
            double h = 1e-4;
            for (int s = 0; s < 16; s++) {
                String name = tables.get(s % tables.size());
                int row = s % 4 == 3 ? rng.nextInt(97) : ids[rng.nextInt(n)];
                int i = row * d + rng.nextInt(d);
                double[] p = ref.w.get(name);
                double keep = p[i];
                p[i] = keep + h;
                double up = ref.loss(ids, pos, labels)[0];
                p[i] = keep - h;
                double down = ref.loss(ids, pos, labels)[0];
                p[i] = keep;
                double fd = (up - down) / (2 * h);
                double got = m.gradients().get(name).getFloat(i);
                assertTrue(Math.abs(got - fd) <= 1e-3 * Math.abs(fd) + 1e-5,
                        name + "[" + row + ", " + (i % d) + "]: finite difference " + fd + ", jlora " + got + ", seed " + seed);
            }
        }
    }

    @Test
    void checkpointedGradientsEqualPlainOnesWithDropout() {
        Path dir = TinyModels.write(tmp.resolve("qwen3"), "qwen3", seed);
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT.withLora(lora(4, 0.1, true, seed)))) {
            randomizeB(m, null);
            int[] ids = randomIds(9, 97), pos = range(9);
            Map<String, float[]> plain = grads(m, ids, pos, 3);
            m.gradientCheckpointing(true);
            Map<String, float[]> ckpt = grads(m, ids, pos, 3);
            for (var e : plain.entrySet()) {
                float[] a = e.getValue(), b = ckpt.get(e.getKey());
                for (int i = 0; i < a.length; i++) {
                    assertTrue(Math.abs(a[i] - b[i]) <= 1e-6 * (1 + Math.abs(a[i])),
                            e.getKey() + "[" + i + "]: plain " + a[i] + ", checkpointed " + b[i] + ", seed " + seed);
                }
            }
            // Dropout draws a fresh mask at another step.
            Map<String, float[]> other = grads(m, ids, pos, 4);
            assertTrue(!java.util.Arrays.equals(other.values().iterator().next(), plain.values().iterator().next())
                    || !java.util.Arrays.equals(other.get(other.keySet().stream().toList().get(1)),
                    plain.get(plain.keySet().stream().toList().get(1))), "dropout mask did not change with the step");
        }
    }

    static Map<String, float[]> grads(CausalLM m, int[] ids, int[] pos, long step) {
        m.zeroGradients();
        try (Tape tape = new Tape(CPU)) {
            LossSum l = m.loss(ids, pos, ids, tape, step);
            tape.backward(1f / l.count());
        }
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        m.gradients().forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    @Test
    void slidingWindowLongerThanSequenceIsRefused() {
        Path dir = TinyModels.write(tmp.resolve("mistral"), "mistral", seed);
        try (CausalLM m = CausalLM.load(dir, CPU, LoadOptions.DEFAULT)) {
            m.forward(randomIds(16, 97), range(16)); // exactly the window: fine
            UserError e = assertThrows(UserError.class, () -> m.forward(randomIds(17, 97), range(17)));
            assertTrue(e.getMessage().contains("sliding"), e.getMessage());
        }
    }
}
