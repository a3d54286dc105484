package jlora.tokenizer;

/**
 * Token ids with each token's [start, end) UTF-16 char range in the text given to encode.
 * Special tokens added by the post-processor have an empty range at the text's end (or 0).
 * A byte-fallback or byte-level token that covers only part of a character gets the whole
 * character's range, so neighbouring tokens may share a range.
 */
public record Encoding(int[] ids, int[] starts, int[] ends) {
    public int size() {
        return ids.length;
    }
}
