package jlora.data;

import java.util.Map;

/**
 * How examples become {@link TokenizedExample}s. The enums mirror the {@code data:} section of
 * the training config (loss_on, truncation) so the trainer maps them one to one.
 *
 * @param lossOn          which tokens carry loss
 * @param truncation      what happens to an example longer than {@code maxSeqLength}
 * @param maxSeqLength    tokens per sequence
 * @param templateContext extra chat-template variables, e.g. {@code enable_thinking}
 */
public record TokenizeOptions(LossOn lossOn, Truncation truncation, int maxSeqLength, Map<String, Object> templateContext) {

    /**
     * {@code ASSISTANT}: every assistant turn (TRL's assistant_only_loss; for plain
     * prompt/completion rows the completion, TRL's completion_only_loss); {@code ALL}: every
     * token; {@code LAST_ASSISTANT}: the last assistant turn only.
     */
    public enum LossOn { ASSISTANT, ALL, LAST_ASSISTANT }

    /**
     * {@code DROP}: reject and count as TOO_LONG; {@code TRUNCATE_LEFT}: cut tokens from the
     * left, after the system prompt, which is kept.
     */
    public enum Truncation { DROP, TRUNCATE_LEFT }

    public TokenizeOptions {
        if (maxSeqLength < 2) throw new IllegalArgumentException("max_seq_length " + maxSeqLength + " < 2");
        templateContext = templateContext == null ? Map.of() : Map.copyOf(templateContext);
    }

    public static TokenizeOptions defaults(int maxSeqLength) {
        return new TokenizeOptions(LossOn.ASSISTANT, Truncation.DROP, maxSeqLength, Map.of());
    }

    public TokenizeOptions withLossOn(LossOn l) { return new TokenizeOptions(l, truncation, maxSeqLength, templateContext); }
    public TokenizeOptions withTruncation(Truncation t) { return new TokenizeOptions(lossOn, t, maxSeqLength, templateContext); }
}
