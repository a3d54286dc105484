package jlora.tokenizer;

/**
 * Text after normalisation plus, for each of its chars, the [start, end) range of the
 * original input it came from, so token offsets can be reported in the caller's text.
 * Without arrays the text is an unchanged slice of the input starting at {@code base}.
 */
final class Normalized {
    final String text;
    private final int base;
    private final int[] start;
    private final int[] end;

    private Normalized(String text, int base, int[] start, int[] end) {
        this.text = text;
        this.base = base;
        this.start = start;
        this.end = end;
    }

    static Normalized slice(String text, int base) {
        return new Normalized(text, base, null, null);
    }

    static Normalized mapped(String text, int[] start, int[] end) {
        return new Normalized(text, 0, start, end);
    }

    int length() {
        return text.length();
    }

    int origStart(int i) {
        return start == null ? base + i : start[i];
    }

    int origEnd(int i) {
        return end == null ? base + i + 1 : end[i];
    }

    /** Original range covered by normalized chars [a, b); an empty range maps to a point. */
    long origRange(int a, int b) {
        if (a >= b) {
            int p = a < length() ? origStart(a) : (length() == 0 ? base : origEnd(length() - 1));
            return pack(p, p);
        }
        return pack(origStart(a), origEnd(b - 1));
    }

    static long pack(int s, int e) {
        return ((long) s << 32) | (e & 0xffffffffL);
    }

    /** Builds a new Normalized piece by piece, each output char tagged with its source range. */
    static final class Builder {
        private final StringBuilder sb;
        private final IntBuffer s;
        private final IntBuffer e;

        Builder(int capacity) {
            sb = new StringBuilder(capacity);
            s = new IntBuffer(capacity);
            e = new IntBuffer(capacity);
        }

        void append(CharSequence chars, int from, int to) {
            for (int i = 0; i < chars.length(); i++) {
                sb.append(chars.charAt(i));
                s.add(from);
                e.add(to);
            }
        }

        void append(char c, int from, int to) {
            sb.append(c);
            s.add(from);
            e.add(to);
        }

        Normalized build() {
            return mapped(sb.toString(), s.toArray(), e.toArray());
        }
    }
}
