package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import jlora.infer.CausalLmDecoder;
import jlora.infer.Generator;
import jlora.infer.KvCache;
import jlora.infer.SamplingParams;
import jlora.infer.StopCriteria;
import jlora.model.TinyModel;
import jlora.tensor.Tensor;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * jlora.infer.CausalLmDecoder (the KV-cache forward) against CausalLM.forward over the whole
 * sequence, recomputed from scratch at every step: the same last-token logits within
 * 1e-5·(1 + |logit|), for the four families TinyModels writes (GQA, Qwen2 biases, Qwen3 q/k
 * norms, untied heads) with a LoRA adapter whose B is random so the unmerged LoRA path counts.
 * Lives here, beside CausalLMTest, to share TinyModels.
 */
class KvCacheDecodeTest {
    private final long seed = System.nanoTime();
    private final SplittableRandom rng = new SplittableRandom(seed);

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-random", "qwen3", "llama", "mistral"})
    void cachedStepsEqualFullForward(String type) {
        Path dir = TinyModels.write(tmp.resolve(type), type, seed);
        try (CausalLM m = CausalLM.load(dir, CausalLMTest.CPU, LoadOptions.DEFAULT.withLora(CausalLMTest.lora(4, 0, false, seed)))) {
            for (LoraPair p : m.lora().pairs()) {
                Tensor b = p.b();
                for (long i = 0; i < b.numel(); i++) b.setFloat(i, (float) (0.05 * TinyModels.gaussian(rng)));
            }
            int vocab = m.config().vocabSize();
            int[] ids = new int[15]; // mistral's sliding window is 16: the full forward refuses longer
            for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(vocab);
            CausalLmDecoder dec = new CausalLmDecoder(m);
            KvCache cache = dec.newCache();
            // a prefill of 5, a second prefill of 3 onto a filled cache, then single decodes
            check(m, ids, 5, dec.prefill(cache, java.util.Arrays.copyOfRange(ids, 0, 5)), type);
            check(m, ids, 8, dec.prefill(cache, java.util.Arrays.copyOfRange(ids, 5, 8)), type);
            for (int n = 9; n <= ids.length; n++) check(m, ids, n, dec.decode(cache, ids[n - 1]), type);
            assertArrayEquals(ids, cache.tokens());
        }
    }

    private void check(CausalLM m, int[] ids, int n, float[] got, String type) {
        int[] prefix = java.util.Arrays.copyOf(ids, n);
        float[] want = m.forward(prefix, CausalLMTest.range(n));
        int worst = -1;
        double worstRatio = -1;
        for (int i = 0; i < want.length; i++) {
            if (Float.isNaN(got[i])) fail(type + " seed " + seed + " step " + n + ": NaN at " + i);
            double ratio = Math.abs(got[i] - want[i]) / (1e-5 * (1 + Math.abs(want[i])));
            if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
        }
        assertTrue(worstRatio <= 1, type + " seed " + seed + " after " + n + " tokens: worst logit " + worst + " cached "
                + got[worst] + " full " + want[worst]);
    }

    /**
     * Greedy generation on the built-in tiny model: each generated token is the argmax of the
     * full forward over prompt + tokens so far (an independent recomputation), and a second
     * run gives the same tokens.
     */
    @Test
    void greedyOnTinyModelIsArgmaxOfFullForwardAndRepeats() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        Tokenizer tok = Tokenizer.load(dir);
        try (CausalLM m = CausalLM.load(dir, CausalLMTest.CPU, LoadOptions.DEFAULT)) {
            int[] prompt = tok.encode("<|im_start|>user\n안녕하세요, tiny model!<|im_end|>\n<|im_start|>assistant\n", false);
            SamplingParams greedy = new SamplingParams(0, 1, 0, 0, 1, null, 12, List.of());
            StopCriteria stop = new StopCriteria(java.util.Set.of(), List.of(), 12);
            Generator g = new Generator(new CausalLmDecoder(m), tok);
            int[] first = g.generate(prompt, greedy, stop, s -> {}, () -> false).tokens();
            int[] second = g.generate(prompt, greedy, stop, s -> {}, () -> false).tokens();
            assertArrayEquals(first, second, "greedy is deterministic");
            int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + first.length);
            for (int i = 0; i < first.length; i++) {
                int n = prompt.length + i;
                float[] logits = m.forward(java.util.Arrays.copyOf(seq, n), CausalLMTest.range(n));
                int best = 0;
                for (int v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
                assertTrue(best == first[i], "token " + i + ": generated " + first[i] + ", full-forward argmax " + best
                        + " (logits " + logits[first[i]] + " vs " + logits[best] + ")");
                seq[n] = first[i];
            }
        }
    }
}
