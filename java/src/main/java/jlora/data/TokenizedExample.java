package jlora.data;

/**
 * One example as token ids with its loss labels, ready for packing or padding.
 *
 * <p>{@code labels} are aligned with {@code ids} as in Hugging Face ({@code labels[t] = ids[t]}
 * where position t is trained, {@link #IGNORE} elsewhere); the loss shifts them, so the logits
 * at position t are scored against {@code labels[t + 1]}. {@code labels[0]} is always
 * {@link #IGNORE}: no token precedes it, and in a packed row the previous example's last token
 * must not be asked to predict it.
 *
 * @param source       the example's source (file name or its source field), for per-source reports
 * @param location     file:line it was read from
 * @param fullLength   token count before any truncation ({@code ids.length} when not truncated)
 * @param droppedTurns assistant turns that got no labels because the chat template is not
 *                     prefix-stable for them (see {@link jlora.tokenizer.AssistantSpans})
 */
public record TokenizedExample(int[] ids, int[] labels, String source, String location, int fullLength, int droppedTurns) {
    /** The label PyTorch's cross-entropy ignores (ignore_index). */
    public static final int IGNORE = -100;

    public TokenizedExample {
        if (ids.length != labels.length) throw new IllegalArgumentException(ids.length + " ids but " + labels.length + " labels");
        if (ids.length > 0 && labels[0] != IGNORE) throw new IllegalArgumentException("labels[0] must be " + IGNORE);
    }

    public int length() { return ids.length; }

    public boolean truncated() { return fullLength > ids.length; }

    /** Positions whose label is trained: the number of loss terms this example adds. */
    public int trainedTokens() {
        int n = 0;
        for (int l : labels) if (l != IGNORE) n++;
        return n;
    }
}
