package jlora.eval;

import java.math.BigDecimal;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import jlora.data.ToolCall;

/**
 * Seed 001's tool-calling metrics. The seed names them and says what each asks (README of its
 * {@code 04_evaluate.py}: right tool? right parameters? valid JSON? a tool that does not
 * exist?) but gives no formula, so these are ours, one score per evaluated turn:
 *
 * <ul>
 * <li><b>tool_name_accuracy</b>: the predicted call names, in order, equal the expected names.
 * <li><b>parameter_accuracy</b> (the seed's metric, exact): names right and every call's
 *     arguments equal the expected arguments as JSON values (numbers compared by value, so 16
 *     equals 16.0; strings exactly; no extra and no missing key).
 * <li><b>parameter_partial</b> (per key): for expected call i and predicted call i (a missing
 *     prediction scores 0), the fraction of keys in the union of both argument sets whose
 *     values are equal (both empty: 1); averaged over the expected calls. Not gated on names.
 * <li><b>json_validity_rate</b>: the output held at least one tool call and every
 *     {@code <tool_call>} block in it parsed as JSON with a name (a plain-text answer where a
 *     call was expected counts as invalid: the seed's model is meant to answer in JSON).
 * <li><b>hallucination_rate</b>: at least one predicted call names a tool that is not in the
 *     schema (the schema file's tools, or the example's own tools without one).
 * </ul>
 * Each rate is the mean of its per-turn 0/1 (or partial) score over the turns.
 */
public final class ToolMetrics {
    private ToolMetrics() {}

    /** One evaluated turn: what the reference called, what the model called, its unparsable blocks. */
    public record Sample(List<ToolCall> expected, List<ToolCall> predicted, int malformedBlocks, Set<String> schema) {
        public Sample {
            expected = List.copyOf(expected);
            predicted = List.copyOf(predicted);
            schema = Set.copyOf(schema);
        }
    }

    /** The per-turn scores. */
    public record Score(boolean nameCorrect, boolean parametersExact, double parameterPartial, boolean jsonValid,
                        boolean hallucinated) {}

    /** The rates over a set of turns; NaN for an empty set. */
    public record Rates(int samples, double toolNameAccuracy, double parameterAccuracy, double parameterPartial,
                        double jsonValidityRate, double hallucinationRate) {}

    public static Score score(Sample s) {
        boolean names = s.expected().size() == s.predicted().size();
        for (int i = 0; names && i < s.expected().size(); i++) {
            names = s.expected().get(i).name().equals(s.predicted().get(i).name());
        }
        boolean exact = names;
        for (int i = 0; exact && i < s.expected().size(); i++) {
            exact = valuesEqual(s.expected().get(i).arguments(), s.predicted().get(i).arguments());
        }
        double partial = 0;
        for (int i = 0; i < s.expected().size(); i++) {
            if (i < s.predicted().size()) partial += keyScore(s.expected().get(i).arguments(), s.predicted().get(i).arguments());
        }
        partial = s.expected().isEmpty() ? (s.predicted().isEmpty() ? 1 : 0) : partial / s.expected().size();
        boolean valid = !s.predicted().isEmpty() && s.malformedBlocks() == 0;
        boolean hallucinated = s.predicted().stream().anyMatch(c -> !s.schema().contains(c.name()));
        return new Score(names, exact, partial, valid, hallucinated);
    }

    public static Rates rates(List<Score> scores) {
        int n = scores.size();
        if (n == 0) return new Rates(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        double name = 0, exact = 0, partial = 0, valid = 0, halluc = 0;
        for (Score s : scores) {
            name += s.nameCorrect() ? 1 : 0;
            exact += s.parametersExact() ? 1 : 0;
            partial += s.parameterPartial();
            valid += s.jsonValid() ? 1 : 0;
            halluc += s.hallucinated() ? 1 : 0;
        }
        return new Rates(n, name / n, exact / n, partial / n, valid / n, halluc / n);
    }

    /** Fraction of the union of keys whose values agree; 1 when neither call has arguments. */
    static double keyScore(Map<String, Object> expected, Map<String, Object> predicted) {
        Set<String> keys = new LinkedHashSet<>(expected.keySet());
        keys.addAll(predicted.keySet());
        if (keys.isEmpty()) return 1;
        int same = 0;
        for (String k : keys) {
            if (expected.containsKey(k) && predicted.containsKey(k) && valuesEqual(expected.get(k), predicted.get(k))) same++;
        }
        return (double) same / keys.size();
    }

    /** JSON value equality: numbers by value, objects by key set, arrays in order. */
    static boolean valuesEqual(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            if (!Double.isFinite(x.doubleValue()) || !Double.isFinite(y.doubleValue())) return x.doubleValue() == y.doubleValue();
            return new BigDecimal(x.toString()).compareTo(new BigDecimal(y.toString())) == 0;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (!x.keySet().equals(y.keySet())) return false;
            for (var e : x.entrySet()) if (!valuesEqual(e.getValue(), y.get(e.getKey()))) return false;
            return true;
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!valuesEqual(x.get(i), y.get(i))) return false;
            return true;
        }
        return Objects.equals(a, b);
    }
}
