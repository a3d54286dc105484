package jlora.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;

/** CPython's str methods that chat templates call, with CPython's semantics. */
final class PythonStrings {
    private PythonStrings() {}

    /** str.isspace for one code point. */
    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int[] cps = s.codePoints().toArray();
        int lo = 0, hi = cps.length;
        if (left) while (lo < hi && stripped(cps[lo], chars)) lo++;
        if (right) while (hi > lo && stripped(cps[hi - 1], chars)) hi--;
        return new String(cps, lo, hi - lo);
    }

    private static boolean stripped(int cp, String chars) {
        return chars == null ? isSpace(cp) : chars.codePoints().anyMatch(c -> c == cp);
    }

    /** str.split(sep=None, maxsplit=-1): whitespace runs when sep is None, else exact sep. */
    static List<String> split(String s, String sep, long maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0, n = s.length();
            while (true) {
                while (i < n && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
                if (i >= n) break;
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(s.substring(i));  // CPython keeps the remainder's trailing whitespace
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.codePointAt(j))) j += Character.charCount(s.codePointAt(j));
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        int from = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) break;
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static String replace(String s, String old, String rep, long count) {
        if (count < 0) return s.replace(old, rep);
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long k = 0; k < count; k++) {
            int at = s.indexOf(old, from);
            if (at < 0) break;
            sb.append(s, from, at).append(rep);
            from = at + old.length();
            if (old.isEmpty()) {
                if (from >= s.length()) { from = s.length(); break; }
                sb.appendCodePoint(s.codePointAt(from));
                from += Character.charCount(s.codePointAt(from));
            }
        }
        return sb.append(s.substring(from)).toString();
    }

    /** str.title: a cased letter after an uncased character starts a word. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean prevCased = false;
        for (int cp : s.codePoints().toArray()) {
            boolean cased = Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
            sb.appendCodePoint(!cased ? cp : prevCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
            prevCased = cased;
        }
        return sb.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int first = s.codePointAt(0);
        return new StringBuilder().appendCodePoint(Character.toTitleCase(first))
                .append(s.substring(Character.charCount(first)).toLowerCase(java.util.Locale.ROOT)).toString();
    }

    static int count(String s, String sub) {
        if (sub.isEmpty()) return s.codePointCount(0, s.length()) + 1;
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) n++;
        return n;
    }
}
