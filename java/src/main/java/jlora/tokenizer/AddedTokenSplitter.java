package jlora.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts text into plain sections and added tokens, scanning left to right and taking the
 * longest added token that starts at each position (transformers.js does the same with a
 * trie; HF tokenizers with an Aho-Corasick leftmost-longest automaton). lstrip / rstrip drop
 * the whitespace beside a token; single_word requires non-word chars (or the text's ends)
 * on both sides.
 */
final class AddedTokenSplitter {
    /** A section [start, end) of the text; tokenId >= 0 when it is an added token. */
    record Section(int start, int end, int tokenId) {}

    private final Map<Character, List<AddedToken>> byFirstChar = new HashMap<>();
    private final boolean[] isFirstChar = new boolean[65536]; // skips the map for most chars

    AddedTokenSplitter(List<AddedToken> tokens) {
        for (AddedToken t : tokens) {
            if (t.content().isEmpty()) continue;
            byFirstChar.computeIfAbsent(t.content().charAt(0), c -> new ArrayList<>()).add(t);
            isFirstChar[t.content().charAt(0)] = true;
        }
        Comparator<AddedToken> longestFirst = Comparator.comparingInt(t -> -t.content().length());
        for (List<AddedToken> l : byFirstChar.values()) l.sort(longestFirst);
    }

    List<Section> split(String text) {
        List<Section> out = new ArrayList<>();
        int n = text.length();
        int plainStart = 0;
        int i = 0;
        AddedToken previous = null;
        while (i < n) {
            AddedToken match = isFirstChar[text.charAt(i)] ? matchAt(text, i) : null;
            if (match == null) {
                i++;
                continue;
            }
            int end = i + match.content().length();
            int before = i;
            if (match.lstrip()) while (before > plainStart && isSpace(text.charAt(before - 1))) before--;
            if (previous != null && previous.rstrip()) {
                while (plainStart < before && isSpace(text.charAt(plainStart))) plainStart++;
            }
            if (before > plainStart) out.add(new Section(plainStart, before, -1));
            out.add(new Section(i, end, match.id()));
            previous = match;
            i = end;
            plainStart = end;
        }
        if (previous != null && previous.rstrip()) {
            while (plainStart < n && isSpace(text.charAt(plainStart))) plainStart++;
        }
        if (n > plainStart) out.add(new Section(plainStart, n, -1));
        return out;
    }

    private AddedToken matchAt(String text, int i) {
        List<AddedToken> candidates = byFirstChar.get(text.charAt(i));
        if (candidates == null) return null;
        for (AddedToken t : candidates) {
            if (!text.startsWith(t.content(), i)) continue;
            if (t.singleWord() && !isWordBoundary(text, i, i + t.content().length())) continue;
            return t;
        }
        return null;
    }

    private static boolean isWordBoundary(String text, int start, int end) {
        boolean leftOk = start == 0 || !isWordChar(text.codePointBefore(start));
        boolean rightOk = end == text.length() || !isWordChar(text.codePointAt(end));
        return leftOk && rightOk;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }

    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\uFEFF';
    }
}
