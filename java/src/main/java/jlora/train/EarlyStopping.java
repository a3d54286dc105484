package jlora.train;

/**
 * {@code training.early_stopping:} stop when an eval metric stops improving, as transformers'
 * EarlyStoppingCallback with {@code metric_for_best_model} does.
 *
 * @param enabled default false
 * @param metric the eval metric watched; {@code eval_loss} (lower is better) or
 *     {@code eval_perplexity}
 * @param patience evaluations in a row without improvement before stopping; HF default 1
 * @param threshold how much the metric must improve to count; HF default 0.0
 * @param restoreBest end with the adapter of the best evaluation rather than the last
 *     ({@code load_best_model_at_end}, which HF requires for early stopping)
 */
public record EarlyStopping(boolean enabled, String metric, int patience, double threshold, boolean restoreBest) {

    static EarlyStopping defaults() {
        return new EarlyStopping(false, "eval_loss", 1, 0.0, true);
    }
}
