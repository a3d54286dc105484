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
}
