package jlora.tokenizer;

import java.text.Normalizer.Form;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "normalizer" block of tokenizer.json. Each step maps a {@link Normalized} to a new one
 * and keeps the char alignment to the caller's text.
 */
sealed interface TextNormalizer {
    Normalized apply(Normalized in);

    /** NFC / NFD / NFKC / NFKD. */
    record Unicode(Form form) implements TextNormalizer {
        @Override
        public Normalized apply(Normalized in) {
            String t = in.text;
            if ((form == Form.NFC && nfcByRange(t)) || java.text.Normalizer.isNormalized(t, form)) return in;
            // Normalise cluster by cluster (a starter plus the marks / jamo that may combine
            // with it) so each output char keeps the source range of its cluster.
            Normalized.Builder b = new Normalized.Builder(t.length() + 8);
            int i = 0;
            while (i < t.length()) {
                int j = i + Character.charCount(t.codePointAt(i));
                while (j < t.length() && combinesBackward(t.codePointAt(j))) {
                    j += Character.charCount(t.codePointAt(j));
                }
                String piece = java.text.Normalizer.normalize(t.substring(i, j), form);
                b.append(piece, in.origStart(i), in.origEnd(j - 1));
                i = j;
            }
            Normalized out = b.build();
            String whole = java.text.Normalizer.normalize(t, form);
            if (out.text.equals(whole)) return out;
            // Cluster guess was wrong somewhere: keep the text exact, give up on fine offsets.
            Normalized.Builder coarse = new Normalized.Builder(whole.length());
            coarse.append(whole, in.origStart(0), in.origEnd(t.length() - 1));
            return coarse.build();
        }

        /**
         * Cheap sufficient test for NFC: chars below U+0300 (no combining marks there) and
         * precomposed Hangul syllables are NFC, and without a mark or jamo after them nothing
         * composes.
         */
        private static boolean nfcByRange(String t) {
            for (int i = 0; i < t.length(); i++) {
                char c = t.charAt(i);
                if (c >= 0x300 && (c < 0xAC00 || c > 0xD7A3)) return false;
            }
            return true;
        }

        private static boolean combinesBackward(int cp) {
            int type = Character.getType(cp);
            return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                    || type == Character.ENCLOSING_MARK
                    || (cp >= 0x1160 && cp <= 0x11FF); // Hangul medial vowels and final consonants
        }
    }

    record Prepend(String prefix) implements TextNormalizer {
        @Override
        public Normalized apply(Normalized in) {
            if (in.length() == 0) return in;
            Normalized.Builder b = new Normalized.Builder(in.length() + prefix.length());
            int at = in.origStart(0);
            b.append(prefix, at, at);
            copy(in, 0, in.length(), b);
            return b.build();
        }
    }

    /** Literal replacement ("String" pattern) or regex replacement ("Regex" pattern). */
    record Replace(Pattern pattern, String content) implements TextNormalizer {
        @Override
        public Normalized apply(Normalized in) {
            Matcher m = pattern.matcher(in.text);
            if (!m.find()) return in;
            Normalized.Builder b = new Normalized.Builder(in.length() + 8);
            int prev = 0;
            do {
                copy(in, prev, m.start(), b);
                if (m.end() > m.start()) {
                    b.append(content, in.origStart(m.start()), in.origEnd(m.end() - 1));
                } else if (!content.isEmpty()) {
                    long r = in.origRange(m.start(), m.start());
                    b.append(content, (int) (r >>> 32), (int) (r >>> 32));
                }
                prev = m.end();
            } while (m.find());
            copy(in, prev, in.length(), b);
            return b.build();
        }
    }

    /** Per code point lower-casing (as Rust's char::to_lowercase, no final-sigma context). */
    record Lowercase() implements TextNormalizer {
        @Override
        public Normalized apply(Normalized in) {
            String t = in.text;
            Normalized.Builder b = new Normalized.Builder(t.length());
            for (int i = 0; i < t.length(); ) {
                int cp = t.codePointAt(i);
                int n = Character.charCount(cp);
                String lower = new String(Character.toChars(cp)).toLowerCase(Locale.ROOT);
                b.append(lower, in.origStart(i), in.origEnd(i + n - 1));
                i += n;
            }
            return b.build();
        }
    }

    record Strip(boolean left, boolean right) implements TextNormalizer {
        @Override
        public Normalized apply(Normalized in) {
            String t = in.text;
            int a = 0;
            int z = t.length();
            while (left && a < z && Character.isWhitespace(t.charAt(a))) a++;
            while (right && z > a && Character.isWhitespace(t.charAt(z - 1))) z--;
            if (a == 0 && z == t.length()) return in;
            Normalized.Builder b = new Normalized.Builder(z - a);
            copy(in, a, z, b);
            return b.build();
        }
    }

    record Sequence(List<TextNormalizer> steps) implements TextNormalizer {
        @Override
        public Normalized apply(Normalized in) {
            for (TextNormalizer s : steps) in = s.apply(in);
            return in;
        }
    }

    private static void copy(Normalized in, int from, int to, Normalized.Builder b) {
        for (int i = from; i < to; i++) b.append(in.text.charAt(i), in.origStart(i), in.origEnd(i));
    }
}
