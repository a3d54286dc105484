package jlora.tokenizer;

/** One entry of tokenizer.json "added_tokens": matched in the raw text before the model runs. */
public record AddedToken(int id, String content, boolean special, boolean singleWord,
                         boolean lstrip, boolean rstrip, boolean normalized) {}
