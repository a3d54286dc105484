package jlora.model;


/**
 * Parameter counts as model cards report them. A tied head shares the embedding matrix and is
 * counted once. "Non-embedding" excludes the embedding and an untied lm_head, as the Qwen2.5
 * model cards do (Qwen2.5-7B: 7.61B total, 6.53B non-embedding).
 */
public record ParameterCount(long total, long embedding, long nonEmbedding) {

    static ParameterCount of(WeightMap map) {
        long total = 0, embedding = 0;
        for (var e : map.expected().entrySet()) {
            long n = e.getValue().numel();
            total += n;
            if (e.getKey().equals("model.embed_tokens.weight") || e.getKey().equals("lm_head.weight")) embedding += n;
        }
        return new ParameterCount(total, embedding, total - embedding);
    }

    /** "7.62B" / "494.0M" style, as model cards write it. */
    public static String human(long n) {
        if (n >= 1_000_000_000L) return String.format(java.util.Locale.ROOT, "%.2fB", n / 1e9);
        if (n >= 1_000_000L) return String.format(java.util.Locale.ROOT, "%.1fM", n / 1e6);
        if (n >= 1_000L) return String.format(java.util.Locale.ROOT, "%.1fK", n / 1e3);
        return Long.toString(n);
    }
}
