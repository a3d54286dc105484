package jlora.tokenizer;

/**
 * A hand-written scanner for the split regex of Qwen2 / Qwen2.5 / Qwen3 (digits one at a time)
 * and Llama 3 / tiktoken cl100k (digits in runs of up to three):
 * <pre>
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * </pre>
 * with Isolated behaviour. Every char is matched by some alternative, so the regex tiles the
 * text; this scanner finds the same tiles by trying the alternatives in order at each
 * position, on a class table instead of a backtracking engine (several times faster).
 * GptSplitTest checks it against java.util.regex with the same pattern.
 */
record GptSplit(int maxDigits) implements PreTokenizer {
    static final String QWEN_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String LLAMA3_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static final byte OTHER = 0;
    private static final byte LETTER = 1;
    private static final byte NUMBER = 2;
    private static final byte SPACE = 3; // Unicode White_Space, as \s under UNICODE_CHARACTER_CLASS
    private static final byte NEWLINE = 4; // \r or \n (also White_Space)
    private static final byte[] BMP = new byte[65536];

    static {
        for (int c = 0; c < 65536; c++) BMP[c] = classify(c);
    }

    private static byte classify(int cp) {
        if (cp == '\r' || cp == '\n') return NEWLINE;
        if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000) {
            return SPACE;
        }
        if (Character.isLetter(cp)) return LETTER;
        int t = Character.getType(cp);
        if (t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER) {
            return NUMBER;
        }
        return OTHER;
    }

    /** Class of the code point at i (a lone surrogate is OTHER, as in java.util.regex). */
    private static byte cls(String s, int i) {
        char c = s.charAt(i);
        if (!Character.isHighSurrogate(c) || i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
            return BMP[c];
        }
        return classify(Character.toCodePoint(c, s.charAt(i + 1)));
    }

    private static int width(String s, int i) {
        return Character.isHighSurrogate(s.charAt(i)) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)) ? 2 : 1;
    }

    private static boolean isSpace(byte k) {
        return k == SPACE || k == NEWLINE;
    }

    @Override
    public void split(String text, IntBuffer in, IntBuffer out, int sectionIndex) {
        for (int w = 0; w < in.size; w += 3) {
            int end = in.data[w + 1];
            int flags = in.data[w + 2];
            for (int i = in.data[w]; i < end; ) {
                int j = match(text, i, end);
                out.add(i, j, flags);
                i = j;
            }
        }
    }

    /** End of the regex match starting at i (which always exists and is non-empty). */
    int match(String s, int i, int end) {
        char c = s.charAt(i);
        // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (c == '\'' && i + 1 < end) {
            char a = s.charAt(i + 1);
            if (eq(a, 's') || eq(a, 't') || eq(a, 'm') || eq(a, 'd')) return i + 2;
            if (i + 2 < end) {
                char b = s.charAt(i + 2);
                if ((eq(a, 'r') && eq(b, 'e')) || (eq(a, 'v') && eq(b, 'e')) || (eq(a, 'l') && eq(b, 'l'))) return i + 3;
            }
        }
        byte k = cls(s, i);
        int wi = width(s, i);
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if (k == LETTER) return letters(s, i + wi, end);
        if (k != NEWLINE && k != NUMBER && i + wi < end && cls(s, i + wi) == LETTER) return letters(s, i + wi, end);
        // 3. \p{N}{1,K}
        if (k == NUMBER) {
            int j = i + wi;
            for (int n = 1; n < maxDigits && j < end && cls(s, j) == NUMBER; n++) j += width(s, j);
            return j;
        }
        // 4. ' '?[^\s\p{L}\p{N}]+[\r\n]*
        int p = c == ' ' && i + 1 < end && cls(s, i + 1) == OTHER ? i + 1 : i;
        if (cls(s, p) == OTHER) {
            int j = p;
            while (j < end && cls(s, j) == OTHER) j += width(s, j);
            while (j < end && (s.charAt(j) == '\r' || s.charAt(j) == '\n')) j++;
            return j;
        }
        // Here c is whitespace. 5. \s*[\r\n]+ : up to the last \r / \n of the whitespace run.
        int j = i;
        int lastNewline = -1;
        while (j < end) {
            byte kj = cls(s, j);
            if (!isSpace(kj)) break;
            if (kj == NEWLINE) lastNewline = j;
            j++;
        }
        if (lastNewline >= 0) return lastNewline + 1;
        // 6. \s+(?!\S) : the run, less its last char when a non-space follows; 7. \s+
        if (j == end || j - i == 1) return j;
        return j - 1;
    }

    private static int letters(String s, int j, int end) {
        while (j < end && cls(s, j) == LETTER) j += width(s, j);
        return j;
    }

    /** Unicode case-insensitive match against an ASCII letter, as (?i) under UNICODE_CASE. */
    private static boolean eq(char a, char lower) {
        if (a == lower || a == lower - 32) return true;
        return a > 0x7F && (Character.toLowerCase(a) == lower || Character.toUpperCase(a) == lower - 32);
    }
}
