package jlora.eval;

import java.util.List;
import jlora.backend.LossSum;
import jlora.data.Example;
import jlora.data.ExampleTokenizer;
import jlora.data.TokenizedExample;

/**
 * The eval loss of a set: Σ per-token losses / Σ counted tokens over every example that
 * tokenizes with at least one trained token (token-weighted, as the trainer's eval_loss, not a
 * mean of per-example means); perplexity = exp(loss). Examples the tokenizer rejects (too long,
 * template error) or that train no token are counted as skipped.
 */
public record EvalLoss(LossSum total, long examples, long skipped) {

    public static EvalLoss compute(List<Example> set, TokenLoss loss, ExampleTokenizer tokenizer) {
        LossSum total = new LossSum(0, 0);
        long used = 0, skipped = 0;
        for (Example e : set) {
            TokenizedExample t = tokenizer.take(e);
            if (t == null || t.trainedTokens() == 0) {
                skipped++;
            } else {
                total = total.plus(loss.loss(t));
                used++;
            }
        }
        return new EvalLoss(total, used, skipped);
    }

    /** The mean loss per counted token, or null when no token was counted. */
    public Double mean() {
        return total.count() > 0 ? total.sum() / total.count() : null;
    }

    public Double perplexity() {
        Double m = mean();
        return m == null ? null : Math.exp(m);
    }
}
