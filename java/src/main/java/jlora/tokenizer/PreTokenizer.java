package jlora.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "pre_tokenizer" block of tokenizer.json. Pre-tokenizers cut the normalized text into
 * words; a word is a triple (start, end, flags) of char positions in that text, so no
 * substrings are made. {@link #PREFIX} marks a word that gets one leading space (ByteLevel
 * add_prefix_space) or replacement char (Metaspace) in front when the model sees it.
 */
sealed interface PreTokenizer permits PreTokenizer.Split, PreTokenizer.ByteLevelSplit,
        PreTokenizer.Metaspace, PreTokenizer.Sequence, GptSplit {
    int PREFIX = 1;

    /** Splits every word of {@code in} (triples) and appends the resulting words to {@code out}. */
    void split(String text, IntBuffer in, IntBuffer out, int sectionIndex);

    enum Behavior { ISOLATED, REMOVED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** "Split": regex or literal delimiters with one of the HF delimiter behaviours. */
    record Split(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(String text, IntBuffer in, IntBuffer out, int sectionIndex) {
            Matcher m = pattern.matcher(text);
            IntBuffer pieces = new IntBuffer(64);
            for (int w = 0; w < in.size; w += 3) {
                int start = in.data[w];
                int end = in.data[w + 1];
                int flags = in.data[w + 2];
                // The span as alternating gaps and delimiters (matches; gaps when inverted).
                pieces.clear();
                m.region(start, end);
                int prev = start;
                while (m.find()) {
                    if (m.start() == m.end()) continue; // empty matches split nothing
                    if (m.start() > prev) pieces.add(prev, m.start(), invert ? 1 : 0);
                    pieces.add(m.start(), m.end(), invert ? 0 : 1);
                    prev = m.end();
                }
                if (end > prev) pieces.add(prev, end, invert ? 1 : 0);
                emit(pieces, flags, out);
            }
        }

        private void emit(IntBuffer p, int flags, IntBuffer out) {
            int pending = -1; // MergedWithNext: start of a delimiter waiting for the next piece
            boolean lastDelim = false;
            boolean any = false;
            for (int i = 0; i < p.size; i += 3) {
                int s = p.data[i];
                int e = p.data[i + 1];
                boolean delim = p.data[i + 2] == 1;
                switch (behavior) {
                    case ISOLATED -> out.add(s, e, flags);
                    case REMOVED -> {
                        if (!delim) out.add(s, e, flags);
                    }
                    case MERGED_WITH_PREVIOUS -> {
                        if (delim && any && !lastDelim) out.data[out.size - 2] = e;
                        else out.add(s, e, flags);
                    }
                    case MERGED_WITH_NEXT -> {
                        if (delim) {
                            if (pending >= 0) out.add(pending, s, flags);
                            pending = s;
                        } else {
                            out.add(pending >= 0 ? pending : s, e, flags);
                            pending = -1;
                        }
                    }
                    case CONTIGUOUS -> {
                        if (delim && any && lastDelim) out.data[out.size - 2] = e;
                        else out.add(s, e, flags);
                    }
                }
                any = true;
                lastDelim = delim;
            }
            if (pending >= 0) out.add(pending, p.data[p.size - 2], flags);
        }
    }

    /** "ByteLevel": optional GPT-2 regex split and optional prefix space; bytes map in the model. */
    record ByteLevelSplit(boolean addPrefixSpace, Split regex) implements PreTokenizer {
        @Override
        public void split(String text, IntBuffer in, IntBuffer out, int sectionIndex) {
            IntBuffer words = in;
            if (addPrefixSpace) {
                words = new IntBuffer(in.size);
                for (int w = 0; w < in.size; w += 3) {
                    int s = in.data[w];
                    boolean space = s < in.data[w + 1] && text.charAt(s) == ' ';
                    words.add(s, in.data[w + 1], in.data[w + 2] | (space ? 0 : PREFIX));
                }
            }
            if (regex == null) {
                for (int i = 0; i < words.size; i++) out.add(words.data[i]);
            } else {
                regex.split(text, words, out, sectionIndex);
            }
        }
    }

    /** "Metaspace": spaces become the replacement char in the model; prefix per prepend_scheme. */
    record Metaspace(char replacement, boolean addPrefixSpace, String prependScheme) implements PreTokenizer {
        @Override
        public void split(String text, IntBuffer in, IntBuffer out, int sectionIndex) {
            for (int w = 0; w < in.size; w += 3) {
                int s = in.data[w];
                boolean starts = s < in.data[w + 1] && (text.charAt(s) == ' ' || text.charAt(s) == replacement);
                boolean prefix = addPrefixSpace && !starts
                        && (prependScheme.equals("always") || (prependScheme.equals("first") && sectionIndex == 0));
                out.add(s, in.data[w + 1], in.data[w + 2] | (prefix ? PREFIX : 0));
            }
        }
    }

    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(String text, IntBuffer in, IntBuffer out, int sectionIndex) {
            IntBuffer cur = in;
            for (int i = 0; i < steps.size(); i++) {
                IntBuffer next = i == steps.size() - 1 ? out : new IntBuffer(cur.size * 2);
                steps.get(i).split(text, cur, next, sectionIndex);
                cur = next;
            }
            if (steps.isEmpty()) for (int i = 0; i < in.size; i++) out.add(in.data[i]);
        }
    }
}
