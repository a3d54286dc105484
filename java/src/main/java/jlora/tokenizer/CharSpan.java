package jlora.tokenizer;

/** A half-open range [start, end) of UTF-16 character offsets in a rendered text. */
public record CharSpan(int start, int end) {
    public CharSpan {
        if (start < 0 || end < start) throw new IllegalArgumentException("bad span [" + start + ", " + end + ")");
    }

    public int length() { return end - start; }
}
