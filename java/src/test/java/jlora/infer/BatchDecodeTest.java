package jlora.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import jlora.backend.cpu.CpuBackend;
import jlora.data.Message;
import jlora.model.TinyModel;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batched decoding against the oracle of each sequence decoded alone on the same model (the
 * built-in tiny model on the CPU). Every op of a batched step is row-wise except the matmuls,
 * and CpuMatmul.nt sums each output element over k in the same lane/FMA order whether its row
 * sits in a 4-row block or alone, so the rows are meant to match exactly; but the Vector API's
 * lane reduction is not bit-stable across JIT tiers (the same prefill call differs by an ulp
 * early and late in one JVM), so logits are compared with |a - b| <= 1e-4 · (1 + |a|) and the
 * greedy tokens must be identical (unless the solo top two are within that tolerance, a tie).
 * Prompts are random ids drawn per run (seed in every message).
 */
class BatchDecodeTest {
    static final long SEED = System.nanoTime();
    @TempDir
    static Path tmp;
    static CausalLM lm;
    static CausalLmDecoder model;

    @BeforeAll
    static void load() {
        lm = CausalLM.load(TinyModel.materialize(tmp.resolve("tiny")), new CpuBackend(), LoadOptions.DEFAULT);
        model = new CausalLmDecoder(lm);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }

    /** Solo: prefill, then decode {@code fed} one at a time; every logits row kept. */
    static List<float[]> solo(CausalLmDecoder model, int[] prompt, List<Integer> fed) {
        KvCache c = model.newCache();
        List<float[]> rows = new ArrayList<>();
        rows.add(model.prefill(c, prompt));
        for (int t : fed) rows.add(model.decode(c, t));
        return rows;
    }

    static final double TOL = 1e-4;

    @Test
    void batchedGreedyEqualsSoloForPromptsJoiningAtDifferentSteps() {
        check(model, "tiny");
    }

    /** The same with an unmerged all-linear LoRA (random B, so the adapter path changes every projection). */
    @Test
    void batchedEqualsSoloWithLora() {
        LoraConfig c = LoraConfig.builder().r(4).loraAlpha(8).targetModules("all-linear").seed(SEED).build();
        try (CausalLM m = CausalLM.load(tmp.resolve("tiny"), new CpuBackend(), LoadOptions.DEFAULT.withLora(c))) {
            Random rnd = new Random(SEED + 1);
            for (LoraPair p : m.lora().pairs()) {
                for (long i = 0; i < p.b().numel(); i++) p.b().setFloat(i, (float) (0.05 * rnd.nextGaussian()));
            }
            check(new CausalLmDecoder(m), "tiny + LoRA");
        }
    }

    /**
     * Other layouts: Qwen3 (q/k RMSNorm, head_dim 16 above hidden/heads), Llama (untied head,
     * no bias), Mistral (GQA 4:1, sliding window 16, which the longer prompts here outrun).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"qwen3", "llama", "mistral"})
    void batchedEqualsSoloOnOtherLayouts(String type) {
        Path dir = jlora.nn.TinyModels.write(tmp.resolve(type), type, SEED);
        try (CausalLM m = CausalLM.load(dir, new CpuBackend(), LoadOptions.DEFAULT)) {
            check(new CausalLmDecoder(m), type);
        }
    }

    static void check(CausalLmDecoder model, String label) {
        Random rnd = new Random(SEED);
        int[] lengths = {3, 9, 17, 30, 5};
        int[] joinAt = {0, 0, 2, 5, 7}; // batch step at which each sequence is prefilled and joins
        int steps = 10;
        int n = lengths.length;
        int[][] prompts = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = rnd.ints(lengths[i], 0, model.vocabSize()).toArray();
        }
        KvCache[] caches = new KvCache[n];
        float[][] last = new float[n][];
        List<List<float[]>> got = new ArrayList<>();
        List<List<Integer>> fed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            got.add(new ArrayList<>());
            fed.add(new ArrayList<>());
        }
        for (int step = 0; ; step++) {
            List<Integer> active = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (joinAt[i] == step) {
                    caches[i] = model.newCache();
                    got.get(i).add(last[i] = model.prefill(caches[i], prompts[i]));
                } else if (caches[i] != null && got.get(i).size() < steps) {
                    active.add(i);
                }
            }
            if (active.isEmpty() && step > joinAt[n - 1]) break;
            if (active.isEmpty()) continue;
            KvCache[] cs = new KvCache[active.size()];
            int[] toks = new int[active.size()];
            for (int r = 0; r < cs.length; r++) {
                cs[r] = caches[active.get(r)];
                toks[r] = argmax(last[active.get(r)]);
                fed.get(active.get(r)).add(toks[r]);
            }
            float[][] rows = model.decodeBatch(cs, toks);
            for (int r = 0; r < cs.length; r++) got.get(active.get(r)).add(last[active.get(r)] = rows[r]);
        }
        for (int i = 0; i < n; i++) {
            // The solo oracle is fed the batched run's tokens, so a near-tie cannot make the two diverge.
            List<float[]> want = solo(model, prompts[i], fed.get(i).subList(0, steps - 1));
            assertEquals(steps, got.get(i).size(), label + ", seed " + SEED + ", sequence " + i);
            for (int s = 0; s < steps; s++) {
                float[] a = want.get(s), b = got.get(i).get(s);
                String where = label + ", seed " + SEED + ", sequence " + i + " (prompt " + lengths[i] + " tokens) step " + s;
                int worst = 0;
                double worstErr = -1;
                for (int v = 0; v < a.length; v++) {
                    double err = Math.abs(a[v] - b[v]) / (1 + Math.abs(a[v]));
                    if (!(err <= worstErr)) { worst = v; worstErr = err; }
                }
                assertTrue(worstErr <= TOL, where + " logit " + worst + ": solo " + a[worst] + " batched " + b[worst]);
                int wa = argmax(a), wb = argmax(b);
                assertTrue(wa == wb || Math.abs(a[wa] - a[wb]) <= TOL * (1 + Math.abs(a[wa])),
                        where + ": greedy token solo " + wa + " (" + a[wa] + ") batched " + wb + " (" + b[wb] + ")");
            }
        }
    }

    // ---- the engine: scheduler thread, continuous batching, cancellation ----

    /** A model whose first prefill runs {@code gate} first; everything else passes through. */
    record Gated(DecoderModel inner, Runnable gate, AtomicBoolean passed) implements DecoderModel {
        Gated(DecoderModel inner, Runnable gate) {
            this(inner, gate, new AtomicBoolean());
        }

        public int vocabSize() { return inner.vocabSize(); }
        public int contextLength() { return inner.contextLength(); }
        public KvCache newCache() { return inner.newCache(); }
        public float[] decode(KvCache c, int t) { return inner.decode(c, t); }
        public float[][] decodeBatch(KvCache[] c, int[] t) { return inner.decodeBatch(c, t); }

        public float[] prefill(KvCache c, int[] ids) {
            if (passed.compareAndSet(false, true)) gate.run();
            return inner.prefill(c, ids);
        }
    }

    static ModelChatEngine engine() {
        return ModelChatEngine.load(TinyModel.materialize(tmp.resolve("tiny")), null, new CpuBackend());
    }

    static ChatRequest chat(String user, int maxTokens) {
        return new ChatRequest(List.of(Message.user(user)), List.of(),
                new SamplingParams(0, 1, 0, 0, 1, null, maxTokens, List.of()), null);
    }

    static final String[] USERS = {"안녕", "오늘 날씨 어때요? 자세히 알려 주세요.", "hi", "1 2 3 4 5 6 7 8 9 10 11 12",
            "김치찌개 끓이는 법"};

    @Test
    void engineRepliesEqualSoloRepliesAndACancelledOneLeavesAlone() throws Exception {
        ModelChatEngine solo = engine();
        List<ChatResult> want = new ArrayList<>();
        for (String u : USERS) want.add(solo.generate(chat(u, 24), t -> { }, () -> false));
        ChatResult wantCancelled = solo.generate(chat("이건 취소됩니다", 200), t -> { }, () -> false);
        assertTrue(wantCancelled.completionTokens() >= 100, "precondition: the request to cancel runs long alone ("
                + wantCancelled.completionTokens() + " tokens), so cancelling it early is observable");
        // The first prefill waits until the other five requests are queued, so four of the six
        // start in one batch and the other two join as the first ones finish (or are cancelled).
        CountDownLatch gateOpen = new CountDownLatch(1);
        BatchingEngine[] ref = new BatchingEngine[1];
        DecoderModel gated = new Gated(new CausalLmDecoder(lm), () -> {
            long deadline = System.currentTimeMillis() + 30_000;
            while (ref[0] == null || ref[0].waiting() < USERS.length) {
                if (System.currentTimeMillis() > deadline) throw new AssertionError("requests never queued");
                Thread.onSpinWait();
            }
            gateOpen.countDown();
        });
        ModelChatEngine tiny = solo;
        try (BatchingEngine batch = new BatchingEngine(new ModelChatEngine("tiny", gated, tiny.tokenizer(),
                jlora.tokenizer.ChatTemplate.load(tmp.resolve("tiny")), tiny.eosIds(), tiny.generationDefaults(), null), 4)) {
            ref[0] = batch;
            // Own threads: the common pool has one thread on a 2-core machine and would run the requests in turn.
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(USERS.length + 1);
            List<CompletableFuture<ChatResult>> futures = new ArrayList<>();
            List<StringBuilder> streamed = new ArrayList<>();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch firstText = new CountDownLatch(1);
            StringBuilder cancelledText = new StringBuilder();
            CompletableFuture<ChatResult> cancelled = CompletableFuture.supplyAsync(() -> batch.generate(
                    chat("이건 취소됩니다", 200), t -> { cancelledText.append(t); firstText.countDown(); }, stop::get), pool);
            for (String u : USERS) {
                StringBuilder sb = new StringBuilder();
                streamed.add(sb);
                futures.add(CompletableFuture.supplyAsync(() -> batch.generate(chat(u, 24), sb::append, () -> false), pool));
            }
            assertTrue(firstText.await(60, TimeUnit.SECONDS), "the long request never streamed");
            stop.set(true);
            ChatResult c = cancelled.get(60, TimeUnit.SECONDS);
            assertEquals("cancelled", c.finishReason(), c.toString());
            assertTrue(c.completionTokens() < wantCancelled.completionTokens(), c.completionTokens() + " tokens");
            assertTrue(wantCancelled.text().startsWith(c.text()), "cancelled text is a prefix of the solo reply: "
                    + c.text() + " vs " + wantCancelled.text());
            for (int i = 0; i < USERS.length; i++) {
                ChatResult got = futures.get(i).get(60, TimeUnit.SECONDS);
                assertEquals(want.get(i).text(), got.text(), USERS[i]);
                assertEquals(want.get(i).text(), streamed.get(i).toString(), "streamed deltas of " + USERS[i]);
                assertEquals(want.get(i).finishReason(), got.finishReason(), USERS[i]);
                assertEquals(want.get(i).completionTokens(), got.completionTokens(), USERS[i]);
                assertEquals(want.get(i).promptTokens(), got.promptTokens(), USERS[i]);
            }
            assertEquals(0, gateOpen.getCount(), "the gate opened");
            assertEquals(4, batch.largestBatch(), "four sequences decoded together");
            pool.shutdown();
        } finally {
            solo.close();
        }
    }
}
