package jlora.data;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What tokenizing did beyond the validation report: examples truncated and the tokens cut,
 * examples rejected for length, assistant turns left untrained because the chat template is
 * not prefix-stable for them, and examples that carry no trained token at all.
 */
public final class TokenizationReport {
    private long examples;
    private long truncated;
    private long tokensCut;
    private long rejected;
    private long templateErrors;
    private long droppedTurns;
    private long examplesWithDroppedTurns;
    private long untrained;
    private long trainedTokens;
    private long tokens;

    synchronized void add(ExampleTokenizer.Outcome o) {
        examples++;
        TokenizedExample t = o.example();
        if (t == null) {
            if (o.kind() == Problem.Kind.TOO_LONG) rejected++;
            else templateErrors++;
            return;
        }
        tokens += t.length();
        int trained = t.trainedTokens();
        trainedTokens += trained;
        if (trained == 0) untrained++;
        if (t.truncated()) {
            truncated++;
            tokensCut += t.fullLength() - t.length();
        }
        if (t.droppedTurns() > 0) {
            droppedTurns += t.droppedTurns();
            examplesWithDroppedTurns++;
        }
    }

    public synchronized long examples() { return examples; }
    public synchronized long truncated() { return truncated; }
    public synchronized long tokensCut() { return tokensCut; }
    public synchronized long rejected() { return rejected; }
    public synchronized long droppedTurns() { return droppedTurns; }
    public synchronized long untrained() { return untrained; }

    public synchronized Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("examples", examples);
        m.put("rejected_too_long", rejected);
        m.put("template_errors", templateErrors);
        m.put("truncated", truncated);
        m.put("tokens_cut", tokensCut);
        m.put("tokens", tokens);
        m.put("trained_tokens", trainedTokens);
        m.put("examples_without_trained_tokens", untrained);
        m.put("untrained_unstable_turns", droppedTurns);
        m.put("examples_with_untrained_turns", examplesWithDroppedTurns);
        return m;
    }

    /** One or two lines for the terminal. */
    public synchronized String summary() {
        StringBuilder sb = new StringBuilder(String.format("tokenized: %d  too long: %d  template errors: %d  truncated: %d (%d tokens cut)  trained tokens: %d of %d%n",
                examples, rejected, templateErrors, truncated, tokensCut, trainedTokens, tokens));
        if (droppedTurns > 0) {
            sb.append(String.format("  %d assistant turns in %d examples get no loss: the chat template renders them differently "
                    + "once later turns exist (e.g. Qwen3 drops earlier <think> blocks)%n", droppedTurns, examplesWithDroppedTurns));
        }
        if (untrained > 0) sb.append(String.format("  %d examples have no trained token%n", untrained));
        return sb.toString();
    }
}
