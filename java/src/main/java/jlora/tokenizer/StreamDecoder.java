package jlora.tokenizer;

import java.util.Arrays;

/**
 * Decodes ids one at a time for streaming output, emitting text only once it is complete:
 * a Korean syllable split over two byte-level tokens (or byte-fallback tokens) shows up when
 * its last byte arrives, never as U+FFFD. Works for any decoder chain by decoding a short
 * window of recent ids with and without the new ones and emitting the difference (the window
 * keeps context such as Strip's leading-space rule consistent), as HF's DecodeStream does.
 */
public final class StreamDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecial;
    private int[] ids = new int[16];
    private int size;
    private int prefixIndex; // window start: ids before it are fully emitted
    private int readIndex; // ids in [prefixIndex, readIndex) have been emitted

    StreamDecoder(Tokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    /** Adds one id; returns the newly completed text ("" while a character is still partial). */
    public String push(int id) {
        if (size == ids.length) ids = Arrays.copyOf(ids, size * 2);
        ids[size++] = id;
        String before = prefixIndex == readIndex ? "" : decode(prefixIndex, readIndex);
        String now = decode(prefixIndex, size);
        if (now.length() > before.length() && !now.endsWith("\uFFFD") && now.startsWith(before)) {
            String out = now.substring(before.length());
            prefixIndex = readIndex;
            readIndex = size;
            return out;
        }
        return "";
    }

    private String decode(int from, int to) {
        return tokenizer.decode(Arrays.copyOfRange(ids, from, to), skipSpecial, false);
    }
}
