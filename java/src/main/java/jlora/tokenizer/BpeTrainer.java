package jlora.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE training as Hugging Face tokenizers' BpeTrainer does it, for the pipeline of
 * Qwen2's tokenizer.json: NFC, the Qwen split regex ({@link GptSplit}, digits one at a time),
 * then GPT-2's byte-to-char map ({@link ByteLevel}). Words are counted; the initial vocabulary
 * is the 256 byte chars with id = byte value; then the most frequent adjacent pair (counted
 * over all word occurrences) is merged, repeatedly, until the vocabulary has {@code vocabSize}
 * tokens or no pair is left.
 *
 * <p>Tie rule (deterministic, independent of hash order): among pairs of equal count the one
 * with the smallest left id wins, then the smallest right id. New tokens get the next id in
 * creation order. As in tokenizers, a merge whose result is already a token (reached by another
 * split) is still recorded in merges but reuses that token's id, so the loop runs until the
 * vocabulary, not the merge list, has the wanted size.
 */
public final class BpeTrainer {
    /** The vocabulary (token string in byte-level chars, id order) and the merges, in rank order. */
    public record Result(List<String> vocab, List<String[]> merges) {}

    private BpeTrainer() {}

    public static Result train(Iterable<String> texts, int vocabSize) {
        if (vocabSize < 256) throw new IllegalArgumentException("vocabSize must be at least 256, got " + vocabSize);
        Map<String, int[]> counted = countWords(texts);
        List<int[]> words = new ArrayList<>(counted.size());
        int[] freq = new int[counted.size()];
        int w = 0;
        for (Map.Entry<String, int[]> e : counted.entrySet()) {
            String s = e.getKey();
            int[] syms = new int[s.length()];
            for (int i = 0; i < s.length(); i++) syms[i] = ByteLevel.byteOf(s.charAt(i));
            words.add(syms);
            freq[w++] = e.getValue()[0];
        }
        List<String> vocab = new ArrayList<>(vocabSize);
        Map<String, Integer> ids = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            String t = String.valueOf(ByteLevel.BYTE_TO_CHAR[b]);
            vocab.add(t);
            ids.put(t, b);
        }
        Map<Long, Long> pairs = new HashMap<>();
        for (int i = 0; i < words.size(); i++) addPairs(pairs, words.get(i), freq[i], 1);
        List<String[]> merges = new ArrayList<>();
        while (vocab.size() < vocabSize) {
            long best = -1, bestCount = 0;
            for (Map.Entry<Long, Long> e : pairs.entrySet()) {
                long c = e.getValue();
                if (c > bestCount || (c == bestCount && c > 0 && Long.compareUnsigned(e.getKey(), best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (bestCount == 0) break;
            int a = (int) (best >>> 32), b = (int) best;
            String merged = vocab.get(a) + vocab.get(b);
            Integer id = ids.get(merged);
            if (id == null) {
                id = vocab.size();
                vocab.add(merged);
                ids.put(merged, id);
            }
            merges.add(new String[] {vocab.get(a), vocab.get(b)});
            for (int i = 0; i < words.size(); i++) {
                int[] syms = words.get(i);
                if (!contains(syms, a, b)) continue;
                addPairs(pairs, syms, freq[i], -1);
                int[] next = replace(syms, a, b, id);
                words.set(i, next);
                addPairs(pairs, next, freq[i], 1);
            }
        }
        return new Result(List.copyOf(vocab), List.copyOf(merges));
    }

    /** Words (byte-level strings) with their occurrence counts, in first-seen order. */
    static Map<String, int[]> countWords(Iterable<String> texts) {
        GptSplit split = new GptSplit(1);
        Map<String, int[]> counts = new LinkedHashMap<>();
        byte[][] buf = {new byte[64]};
        for (String raw : texts) {
            String text = Normalizer.normalize(raw, Normalizer.Form.NFC);
            for (int i = 0; i < text.length(); ) {
                int j = split.match(text, i, text.length());
                int n = ByteLevel.utf8(text, i, j, buf);
                char[] chars = new char[n];
                for (int k = 0; k < n; k++) chars[k] = ByteLevel.BYTE_TO_CHAR[buf[0][k] & 0xFF];
                counts.computeIfAbsent(new String(chars), k -> new int[1])[0]++;
                i = j;
            }
        }
        return counts;
    }

    private static void addPairs(Map<Long, Long> pairs, int[] syms, int freq, int sign) {
        for (int k = 0; k + 1 < syms.length; k++) {
            long key = ((long) syms[k] << 32) | (syms[k + 1] & 0xFFFFFFFFL);
            long c = pairs.merge(key, (long) sign * freq, Long::sum);
            if (c == 0) pairs.remove(key);
        }
    }

    private static boolean contains(int[] syms, int a, int b) {
        for (int k = 0; k + 1 < syms.length; k++) if (syms[k] == a && syms[k + 1] == b) return true;
        return false;
    }

    /** Left-to-right, non-overlapping: "aaa" with (a, a) becomes [aa, a], as tokenizers' Word::merge does. */
    private static int[] replace(int[] syms, int a, int b, int id) {
        int[] out = new int[syms.length];
        int n = 0;
        for (int k = 0; k < syms.length; k++) {
            if (k + 1 < syms.length && syms[k] == a && syms[k + 1] == b) {
                out[n++] = id;
                k++;
            } else {
                out[n++] = syms[k];
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }
}
