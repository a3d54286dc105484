package jlora.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jlora.UserError;
import jlora.io.AtomicFiles;

/**
 * One model's evaluation: how many examples of each kind, the metrics (null where the eval set
 * had nothing to measure them on; never NaN, which JSON cannot hold) in {@link #METRICS}
 * order, and one row per generated turn for reading the mistakes.
 */
public record EvalReport(@JsonProperty("model") String model,
                         @JsonProperty("counts") Map<String, Long> counts,
                         @JsonProperty("metrics") Map<String, Double> metrics,
                         @JsonProperty("samples") List<Map<String, Object>> samples) {

    /** A metric, whether larger is better (the change column), and whether it is a score in [0, 1] (the chart). */
    public record Metric(String name, boolean higherIsBetter, boolean score) {}

    public static final List<Metric> METRICS = List.of(
            new Metric("eval_loss", false, false),
            new Metric("perplexity", false, false),
            new Metric("exact_match", true, true),
            new Metric("contains", true, true),
            new Metric("f1", true, true),
            new Metric("tool_name_accuracy", true, true),
            new Metric("parameter_accuracy", true, true),
            new Metric("parameter_partial", true, true),
            new Metric("json_validity_rate", true, true),
            new Metric("hallucination_rate", false, true),
            new Metric("latency_mean_ms", false, false),
            new Metric("latency_p50_ms", false, false),
            new Metric("latency_p95_ms", false, false),
            new Metric("tokens_per_second", true, false),
            new Metric("peak_heap_mb", false, false));

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public EvalReport {
        counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
        Map<String, Double> m = new LinkedHashMap<>();
        for (var e : metrics.entrySet()) {
            Double v = e.getValue();
            m.put(e.getKey(), v == null || !Double.isFinite(v) ? null : v);
        }
        metrics = Collections.unmodifiableMap(m);
        samples = samples == null ? List.of() : List.copyOf(samples);
    }

    public Double metric(String name) {
        return metrics.get(name);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static EvalReport parse(String json) {
        try {
            return JSON.readValue(json, EvalReport.class);
        } catch (IOException e) {
            throw new UserError("not an eval report: " + e.getMessage());
        }
    }

    public void write(Path file) {
        AtomicFiles.writeString(file, toJson());
    }

    /** A two-column table: metric and value, then the counts. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-20s %14s%n", "metric", shorten(model, 14)));
        for (Metric m : METRICS) b.append(String.format(Locale.ROOT, "%-20s %14s%n", m.name(), format(metric(m.name()))));
        b.append(countsLine());
        return b.toString();
    }

    /** The before/after table: base, tuned and the change, with a mark where tuned is better. */
    public static String compare(EvalReport base, EvalReport tuned) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-20s %14s %14s %14s%n", "metric", "base", "tuned", "change"));
        for (Metric m : METRICS) {
            Double x = base.metric(m.name());
            Double y = tuned.metric(m.name());
            String change = "";
            if (x != null && y != null) {
                double d = y - x;
                String shown = String.format(Locale.ROOT, "%+.4f", d);
                // A change below the printed precision (threaded sums differ in the last bits) is no change.
                if (Double.parseDouble(shown) == 0) change = "0.0000  ";
                else change = shown + ((d > 0) == m.higherIsBetter() ? " +" : " -");
            }
            b.append(String.format(Locale.ROOT, "%-20s %14s %14s %14s%n", m.name(), format(x), format(y), change));
        }
        b.append("base:  ").append(base.countsLine());
        b.append("tuned: ").append(tuned.countsLine());
        b.append("(+ marks a change for the better, - for the worse)\n");
        return b.toString();
    }

    private String countsLine() {
        List<String> parts = new ArrayList<>();
        counts.forEach((k, v) -> parts.add(k + " " + v));
        return String.join(", ", parts) + "\n";
    }

    static String format(Double v) {
        if (v == null) return "-";
        return Math.abs(v) >= 1000 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String shorten(String s, int n) {
        return s.length() <= n ? s : "…" + s.substring(s.length() - n + 1);
    }
}
