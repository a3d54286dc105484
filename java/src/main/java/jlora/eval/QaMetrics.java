package jlora.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Extractive-QA scores for one prediction against its reference answers, each the maximum over
 * the references (SQuAD v1.1 / KorQuAD v1.0 official evaluators).
 *
 * <p>{@link #normalize} is KorQuAD v1.0's {@code normalize_answer}: the symbols
 * {@code ' " 《 》 < > 〈 〉 ( ) ‘ ’} become spaces, the text is lower-cased, every ASCII punctuation
 * character ({@code string.punctuation}) is removed, and runs of whitespace become one space.
 * Korean particles are not stripped: KorQuAD scores them through the character-level F1.
 *
 * <p>{@link #f1} is KorQuAD's F1: not over words as in SQuAD but over the characters of the
 * normalised tokens (spaces dropped), because Korean words carry particles (세종이, 세종은) that
 * word matching would count as wrong. Precision = common / |prediction chars|, recall =
 * common / |answer chars|, F1 = 2PR / (P + R), and 0 when nothing is in common.
 *
 * <p>{@link #contains} is seed 003's check, {@code answer in result}: the raw reference is a
 * substring of the raw generation, no normalisation.
 */
public final class QaMetrics {
    private QaMetrics() {}

    /** Replaced by a space before punctuation removal (KorQuAD's {@code remove_}). */
    private static final String KORQUAD_SYMBOLS = "'\"《》<>〈〉()‘’";
    /** Python's {@code string.punctuation}. */
    private static final String ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    public static String normalize(String s) {
        StringBuilder b = new StringBuilder(s.length());
        String lower = replaceSymbols(s).toLowerCase(Locale.ROOT);
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            if (ASCII_PUNCTUATION.indexOf(c) < 0) b.append(c);
        }
        return String.join(" ", tokens(b.toString()));
    }

    public static boolean exactMatch(String prediction, List<String> answers) {
        String p = normalize(prediction);
        for (String a : answers) if (p.equals(normalize(a))) return true;
        return false;
    }

    public static boolean contains(String prediction, List<String> answers) {
        for (String a : answers) if (prediction.contains(a)) return true;
        return false;
    }

    public static double f1(String prediction, List<String> answers) {
        double best = 0;
        for (String a : answers) best = Math.max(best, f1(prediction, a));
        return best;
    }

    static double f1(String prediction, String answer) {
        int[] p = chars(prediction);
        int[] g = chars(answer);
        Map<Integer, Integer> counts = new HashMap<>();
        for (int c : g) counts.merge(c, 1, Integer::sum);
        int same = 0;
        for (int c : p) {
            Integer left = counts.get(c);
            if (left != null && left > 0) {
                counts.put(c, left - 1);
                same++;
            }
        }
        if (same == 0) return 0;
        double precision = (double) same / p.length;
        double recall = (double) same / g.length;
        return 2 * precision * recall / (precision + recall);
    }

    /** Code points of the normalised tokens, spaces dropped. */
    private static int[] chars(String s) {
        return String.join("", tokens(normalize(s))).codePoints().toArray();
    }

    private static String replaceSymbols(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(KORQUAD_SYMBOLS.indexOf(c) >= 0 ? ' ' : c);
        }
        return b.toString();
    }

    /** Python's {@code str.split()}: runs of Unicode whitespace (NBSP and ideographic space included). */
    static List<String> tokens(String s) {
        List<String> out = new java.util.ArrayList<>();
        int start = -1;
        for (int i = 0; i <= s.length(); i++) {
            boolean space = i == s.length() || Character.isWhitespace(s.charAt(i)) || Character.isSpaceChar(s.charAt(i));
            if (space && start >= 0) {
                out.add(s.substring(start, i));
                start = -1;
            } else if (!space && start < 0) {
                start = i;
            }
        }
        return out;
    }
}
