package jlora.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import jlora.data.Example;
import jlora.data.ToolCall;
import jlora.infer.ChatEngine;
import jlora.infer.ChatRequest;
import jlora.infer.ChatResult;
import jlora.infer.SamplingParams;

/**
 * Runs one model over an eval set: QA turns are generated and scored by {@link QaMetrics},
 * tool turns are generated with the tools shown and scored by {@link ToolMetrics}; the eval
 * loss ({@link EvalLoss}) comes in computed. Latency is the wall time of each
 * {@link ChatEngine#generate} call after some untimed warm-up requests; peak memory the JVM heap
 * high-water mark over the run.
 */
public final class Evaluator {
    private final ChatEngine engine;
    private final EvalLoss loss;
    private final ToolSchema schema;
    private final SamplingParams sampling;
    private final Predicate<String> qaSource;
    private final int warmUp;

    /**
     * @param loss   the set's loss, computed beforehand (so the loss model and the generation
     *               engine need not be in memory together), or null for none
     * @param schema the tools every tool turn is offered and judged against, or null for each
     *               example's own tools
     */
    public Evaluator(ChatEngine engine, EvalLoss loss, ToolSchema schema, SamplingParams sampling) {
        this(engine, loss, schema, sampling, EvalItem.QA_SOURCE, 1);
    }

    /**
     * @param qaSource which example sources hold QA rows (see {@link EvalItem})
     * @param warmUp   untimed requests before the measured ones
     */
    public Evaluator(ChatEngine engine, EvalLoss loss, ToolSchema schema, SamplingParams sampling,
                     Predicate<String> qaSource, int warmUp) {
        this.engine = engine;
        this.loss = loss;
        this.schema = schema;
        this.sampling = sampling;
        this.qaSource = qaSource;
        this.warmUp = warmUp;
    }

    public EvalReport run(List<Example> examples, Consumer<String> progress) {
        PeakMemory.reset();
        long completionTokens = 0, chats = 0;
        List<Double> latencies = new ArrayList<>();
        List<Boolean> em = new ArrayList<>(), contains = new ArrayList<>();
        List<Double> f1 = new ArrayList<>();
        List<ToolMetrics.Score> toolScores = new ArrayList<>();
        List<Map<String, Object>> rows = new ArrayList<>();
        warmUp(examples);
        int done = 0;
        for (Example e : examples) {
            EvalItem item = EvalItem.of(e, qaSource);
            switch (item) {
                case EvalItem.Qa qa -> {
                    Timed r = generate(new ChatRequest(qa.prompt(), null, sampling, null));
                    latencies.add(r.ms());
                    completionTokens += r.result().completionTokens();
                    String text = r.result().text();
                    boolean exact = QaMetrics.exactMatch(text, qa.answers());
                    boolean has = QaMetrics.contains(text, qa.answers());
                    double f = QaMetrics.f1(text, qa.answers());
                    em.add(exact);
                    contains.add(has);
                    f1.add(f);
                    Map<String, Object> row = row("qa", e, r);
                    row.put("answers", qa.answers());
                    row.put("prediction", text);
                    row.put("exact_match", exact);
                    row.put("contains", has);
                    row.put("f1", f);
                    rows.add(row);
                }
                case EvalItem.Tool tool -> {
                    List<Map<String, Object>> tools = schema != null ? schema.tools() : tool.tools();
                    Timed r = generate(new ChatRequest(tool.prompt(), tools, sampling, null));
                    latencies.add(r.ms());
                    completionTokens += r.result().completionTokens();
                    Set<String> names = ToolSchema.names(tools);
                    ToolMetrics.Score s = ToolMetrics.score(new ToolMetrics.Sample(tool.expected(),
                            r.result().toolCalls(), r.result().malformedToolCalls().size(), names));
                    toolScores.add(s);
                    Map<String, Object> row = row("tool", e, r);
                    row.put("expected", tool.expected().stream().map(ToolCall::toJson).toList());
                    row.put("predicted", r.result().toolCalls().stream().map(ToolCall::toJson).toList());
                    row.put("malformed", r.result().malformedToolCalls());
                    row.put("text", r.result().text());
                    row.put("tool_name_correct", s.nameCorrect());
                    row.put("parameters_exact", s.parametersExact());
                    row.put("parameter_partial", s.parameterPartial());
                    row.put("json_valid", s.jsonValid());
                    row.put("hallucinated", s.hallucinated());
                    rows.add(row);
                }
                case EvalItem.Chat c -> chats++;
            }
            done++;
            if (progress != null) progress.accept(done + "/" + examples.size());
        }
        LatencyStats lat = LatencyStats.fromList(latencies, completionTokens);
        ToolMetrics.Rates tr = ToolMetrics.rates(toolScores);

        Map<String, Double> m = new LinkedHashMap<>();
        m.put("eval_loss", loss == null ? null : loss.mean());
        m.put("perplexity", loss == null ? null : loss.perplexity());
        m.put("exact_match", rate(em));
        m.put("contains", rate(contains));
        m.put("f1", f1.isEmpty() ? null : f1.stream().mapToDouble(Double::doubleValue).average().orElseThrow());
        m.put("tool_name_accuracy", tr.toolNameAccuracy());
        m.put("parameter_accuracy", tr.parameterAccuracy());
        m.put("parameter_partial", tr.parameterPartial());
        m.put("json_validity_rate", tr.jsonValidityRate());
        m.put("hallucination_rate", tr.hallucinationRate());
        m.put("latency_mean_ms", lat.meanMs());
        m.put("latency_p50_ms", lat.p50Ms());
        m.put("latency_p95_ms", lat.p95Ms());
        m.put("tokens_per_second", lat.tokensPerSecond());
        m.put("peak_heap_mb", PeakMemory.heapPeakBytes() / (1024.0 * 1024.0));

        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("examples", (long) examples.size());
        counts.put("qa", (long) em.size());
        counts.put("tool", (long) toolScores.size());
        counts.put("chat", chats);
        counts.put("loss_examples", loss == null ? 0 : loss.examples());
        counts.put("loss_skipped", loss == null ? 0 : loss.skipped());
        counts.put("loss_tokens", loss == null ? 0 : loss.total().count());
        counts.put("completion_tokens", completionTokens);
        return new EvalReport(engine.modelId(), counts, m, rows);
    }

    /**
     * Untimed, unscored requests (the first generation prompts, cycled) before the measured
     * ones, so JIT compilation and lazy loading land in no latency and the first model of a
     * before/after table does not pay them alone.
     */
    private void warmUp(List<Example> examples) {
        List<ChatRequest> prompts = new ArrayList<>();
        for (Example e : examples) {
            if (prompts.size() == warmUp) break;
            switch (EvalItem.of(e, qaSource)) {
                case EvalItem.Qa qa -> prompts.add(new ChatRequest(qa.prompt(), null, sampling, null));
                case EvalItem.Tool t -> prompts.add(new ChatRequest(t.prompt(), schema != null ? schema.tools() : t.tools(), sampling, null));
                case EvalItem.Chat c -> { }
            }
        }
        for (int i = 0; !prompts.isEmpty() && i < warmUp; i++) {
            engine.generate(prompts.get(i % prompts.size()), s -> {}, () -> false);
        }
    }

    private record Timed(ChatResult result, double ms) {}

    private Timed generate(ChatRequest request) {
        long t0 = System.nanoTime();
        ChatResult r = engine.generate(request, s -> {}, () -> false);
        return new Timed(r, (System.nanoTime() - t0) / 1e6);
    }

    private static Map<String, Object> row(String kind, Example e, Timed r) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("kind", kind);
        row.put("at", e.location());
        row.put("latency_ms", r.ms());
        row.put("completion_tokens", r.result().completionTokens());
        row.put("finish_reason", r.result().finishReason());
        return row;
    }

    private static Double rate(List<Boolean> hits) {
        if (hits.isEmpty()) return null;
        return hits.stream().filter(b -> b).count() / (double) hits.size();
    }
}
