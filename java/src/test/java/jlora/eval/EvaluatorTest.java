package jlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import jlora.backend.LossSum;
import jlora.data.Conversation;
import jlora.data.Example;
import jlora.data.ExampleTokenizer;
import jlora.data.Message;
import jlora.data.TokenizeOptions;
import jlora.data.TokenizedExample;
import jlora.data.ToolCall;
import jlora.infer.ChatResult;
import jlora.infer.SamplingParams;
import jlora.model.TinyModel;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Evaluator end to end with a scripted engine whose answers are known: the report's
 * numbers are worked out by hand from the scripts (QA and tool metrics as in QaMetricsTest and
 * ToolMetricsTest), the eval loss from a loss double whose per-example sums are known, the
 * JSON report parses back to the same numbers, and the comparison chart decodes as a PNG.
 */
class EvaluatorTest {
    @TempDir
    static Path tmp;
    static ExampleTokenizer tokenizer;

    static final List<Map<String, Object>> TOOLS = List.of(
            Map.of("type", "function", "function", Map.of("name", "get_weather", "parameters", Map.of())),
            Map.of("type", "function", "function", Map.of("name", "convert_units", "parameters", Map.of())));

    @BeforeAll
    static void model() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        tokenizer = new ExampleTokenizer(Tokenizer.load(dir), ChatTemplate.load(dir), TokenizeOptions.defaults(4096));
    }

    static Example qa(String question, String answer, int line) {
        return Example.chat(new Conversation(List.of(Message.user("맥락...\n\n질문: " + question), Message.assistant(answer)),
                null, "qa_korquad_ko.json"), "qa_korquad_ko.json", line);
    }

    static Example tool(String question, ToolCall expected, int line) {
        return Example.chat(new Conversation(List.of(Message.system("도구 비서"), Message.user(question),
                Message.assistant(null, List.of(expected)), Message.tool("{}", null, expected.name()),
                Message.assistant("끝")), TOOLS, null), "tools.jsonl", line);
    }

    static final ToolCall WEATHER = new ToolCall(null, "get_weather", Map.of("city", "제주"));
    static final ToolCall CONVERT = new ToolCall(null, "convert_units", Map.of("value", 16, "to", "F"));

    static List<Example> examples() {
        return List.of(
                qa("임금은?", "세종", 1),
                qa("반포 연도는?", "1446년", 2),
                qa("오늘날 글자 수는?", "24자", 3),
                tool("제주 날씨?", WEATHER, 1),
                tool("16도는 화씨로?", CONVERT, 2),
                Example.chat(Conversation.of(Message.user("안녕"), Message.assistant("안녕하세요"),
                        Message.user("고마워"), Message.assistant("천만에요")), "chat.jsonl", 1),
                // Single-turn like a QA row, but from a chat source: loss only.
                Example.chat(new Conversation(List.of(Message.user("안녕하세요!"), Message.assistant("무엇을 도와드릴까요?")),
                        null, "sample_daily"), "chat.jsonl", 2));
    }

    static ScriptedEngine tuned() {
        return new ScriptedEngine("tuned", Map.of(
                "맥락...\n\n질문: 임금은?", ScriptedEngine.text("세종", 2),
                "맥락...\n\n질문: 반포 연도는?", ScriptedEngine.text("1446년에", 3),
                "맥락...\n\n질문: 오늘날 글자 수는?", ScriptedEngine.text("모름", 4),
                "제주 날씨?", new ChatResult("", List.of(WEATHER), "tool_calls", 10, 5),
                "16도는 화씨로?", new ChatResult("", List.of(new ToolCall(null, "to_fahrenheit", Map.of("value", 16))),
                        "tool_calls", 10, 6)), ScriptedEngine.text("?", 1));
    }

    /** Per example: sum = 2 * count + 1, so the token-weighted mean is 2 + n / Σcount. */
    static final TokenLoss LOSS = t -> new LossSum(2.0 * t.trainedTokens() + 1, t.trainedTokens());

    @Test
    void reportNumbersMatchTheScript() {
        ScriptedEngine engine = tuned();
        EvalReport r = new Evaluator(engine, EvalLoss.compute(examples(), LOSS, tokenizer), null, SamplingParams.GREEDY).run(examples(), null);

        assertEquals(7L, r.counts().get("examples"));
        assertEquals(3L, r.counts().get("qa"));
        assertEquals(2L, r.counts().get("tool"));
        assertEquals(2L, r.counts().get("chat"));
        assertEquals(2L + 3 + 4 + 5 + 6, r.counts().get("completion_tokens"));

        // 세종 exact; 1446년에 contains, F1 = 2(5/6)/(11/6) = 10/11; 모름 nothing.
        assertEquals(1.0 / 3, r.metric("exact_match"), 1e-12);
        assertEquals(2.0 / 3, r.metric("contains"), 1e-12);
        assertEquals((1 + 10.0 / 11) / 3, r.metric("f1"), 1e-12);
        // Weather exact; to_fahrenheit: wrong name, hallucinated, value agrees of {value, to}: 1/2.
        assertEquals(0.5, r.metric("tool_name_accuracy"), 1e-12);
        assertEquals(0.5, r.metric("parameter_accuracy"), 1e-12);
        assertEquals((1 + 0.5) / 2, r.metric("parameter_partial"), 1e-12);
        assertEquals(1.0, r.metric("json_validity_rate"), 1e-12);
        assertEquals(0.5, r.metric("hallucination_rate"), 1e-12);

        long tokens = 0;
        int n = 0;
        for (Example e : examples()) {
            TokenizedExample t = tokenizer.take(e);
            tokens += t.trainedTokens();
            n++;
        }
        assertEquals(tokens, r.counts().get("loss_tokens"));
        assertEquals(2.0 + (double) n / tokens, r.metric("eval_loss"), 1e-12, "token-weighted mean");
        assertEquals(Math.exp(r.metric("eval_loss")), r.metric("perplexity"), 1e-12);

        // Latency figures are those of the rows' own timings.
        double[] ms = r.samples().stream().mapToDouble(s -> ((Number) s.get("latency_ms")).doubleValue()).toArray();
        assertEquals(5, ms.length);
        double sum = 0;
        for (double x : ms) sum += x;
        assertEquals(sum / 5, r.metric("latency_mean_ms"), 1e-9);
        assertEquals(LatencyStats.percentile(ms, 95), r.metric("latency_p95_ms"), 1e-9);
        assertEquals(20 / (sum / 1000), r.metric("tokens_per_second"), 1e-6 * r.metric("tokens_per_second"));
        assertTrue(r.metric("peak_heap_mb") > 0, "peak heap " + r.metric("peak_heap_mb"));

        // Tool turns are offered the example's tools and end before the reference call; QA turns get none.
        // Request 0 is the untimed warm-up (the first QA prompt again).
        assertEquals(6, engine.requests.size());
        assertEquals(engine.requests.get(0), engine.requests.get(1), "warm-up repeats the first measured request");
        assertTrue(engine.requests.get(1).tools().isEmpty());
        assertEquals(TOOLS, engine.requests.get(4).tools());
        assertEquals(List.of("system", "user"), engine.requests.get(4).messages().stream().map(Message::role).toList());
    }

    @Test
    void schemaFileDecidesHallucination() throws Exception {
        Path schema = tmp.resolve("schema.json");
        java.nio.file.Files.writeString(schema, "[{\"name\": \"get_weather\"}, {\"type\": \"function\", \"function\": {\"name\": \"to_fahrenheit\"}}]");
        ScriptedEngine engine = tuned();
        EvalReport r = new Evaluator(engine, null, ToolSchema.load(schema), SamplingParams.GREEDY).run(examples(), null);
        assertEquals(0.0, r.metric("hallucination_rate"), 1e-12, "to_fahrenheit is in the schema file");
        assertNull(r.metric("eval_loss"), "no loss asked for");
        assertEquals(List.of("get_weather", "to_fahrenheit"),
                List.copyOf(ToolSchema.names(engine.requests.get(4).tools())));
    }

    @Test
    void jsonParsesBackAndChartDecodes() throws Exception {
        EvalReport tunedReport = new Evaluator(tuned(), EvalLoss.compute(examples(), LOSS, tokenizer), null, SamplingParams.GREEDY).run(examples(), null);
        ScriptedEngine baseEngine = new ScriptedEngine("base", Map.of(), new ChatResult("<tool_call>{bad", List.of(),
                "stop", 10, 3, List.of("{bad")));
        EvalReport base = new Evaluator(baseEngine, EvalLoss.compute(examples(), LOSS, tokenizer), null, SamplingParams.GREEDY).run(examples(), null);
        assertEquals(0.0, base.metric("json_validity_rate"), 1e-12, "every base tool turn was malformed");

        for (EvalReport r : List.of(tunedReport, base)) {
            EvalReport back = EvalReport.parse(r.toJson());
            assertEquals(r.model(), back.model());
            assertEquals(r.counts(), back.counts());
            assertEquals(r.metrics(), back.metrics());
            assertEquals(r.samples().size(), back.samples().size());
        }

        List<String> charted = CompareChart.charted(base, tunedReport);
        assertEquals(List.of("exact_match", "contains", "f1", "tool_name_accuracy", "parameter_accuracy",
                "parameter_partial", "json_validity_rate", "hallucination_rate"), charted);
        BufferedImage png = ImageIO.read(new ByteArrayInputStream(CompareChart.png(base, tunedReport)));
        assertNotNull(png, "chart is not a decodable PNG");
        assertEquals(900, png.getWidth());
        assertEquals(500, png.getHeight());

        String table = EvalReport.compare(base, tunedReport);
        List<String> lines = new ArrayList<>(List.of(table.split("\n")));
        assertTrue(lines.get(0).contains("base") && lines.get(0).contains("tuned"), table);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("json_validity_rate") && l.contains("+1.0000 +")), table);
    }
}
