package jlora.tokenizer;

/**
 * The single-sequence part of tokenizer.json's "post_processor": the special token ids put
 * before and after the text when addSpecialTokens is on (TemplateProcessing "single",
 * Bert / Roberta cls + sep). ByteLevel post-processing changes no ids.
 */
record PostProcessor(int[] before, int[] after) {
    static final PostProcessor NONE = new PostProcessor(new int[0], new int[0]);
}
