package jlora.infer;

/**
 * What generation needs from a language model: logits for the next token given everything
 * in a {@link KvCache} so far. {@link #prefill} runs a whole prompt at once; {@link #decode}
 * adds one token. Both append to the cache and return the logits {@code [vocabSize]} of the
 * last token. A cache belongs to one sequence and one model.
 */
public interface DecoderModel {
    int vocabSize();

    /** Tokens one sequence may hold (config.json max_position_embeddings). */
    int contextLength();

    KvCache newCache();

    float[] prefill(KvCache cache, int[] ids);

    float[] decode(KvCache cache, int token);

    /**
     * One decode step for several sequences at once: {@code tokens[i]} is appended to
     * {@code caches[i]} and row i of the result is that sequence's next-token logits. Each row
     * must equal what {@link #decode} alone would return; the default simply loops.
     */
    default float[][] decodeBatch(KvCache[] caches, int[] tokens) {
        float[][] out = new float[caches.length][];
        for (int i = 0; i < caches.length; i++) out[i] = decode(caches[i], tokens[i]);
        return out;
    }
}
