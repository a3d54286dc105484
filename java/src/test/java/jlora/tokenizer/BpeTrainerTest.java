package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Oracle: merge sequences worked out by hand from the algorithm's definition (count pairs over
 * word occurrences, merge the most frequent, ties to the smallest (left id, right id)).
 */
class BpeTrainerTest {
    @Test
    void mergesMostFrequentPairFirstAndBreaksTiesBySmallestIds() {
        // Words after the Qwen split + byte-level map: "abab", "Ġabab", "Ġab" (Ġ = space, byte 32).
        // Pairs: (a,b) 5, (b,a) 2, (Ġ,a) 2 -> "ab" = 256.
        // Then (ab,ab) 2 and (Ġ,ab) 2 tie; Ġ = 32 < ab = 256 -> "Ġab" = 257.
        // Then (ab,ab) 1 and (Ġab,ab) 1 tie; 256 < 257 -> "abab" = 258; then "Ġabab" = 259; no pair is left.
        BpeTrainer.Result r = BpeTrainer.train(List.of("abab abab ab"), 300);
        assertEquals(List.of("a b", "Ġ ab", "ab ab", "Ġab ab"), merges(r));
        assertEquals(List.of("ab", "Ġab", "abab", "Ġabab"), r.vocab().subList(256, r.vocab().size()));
        assertEquals("Ġ", r.vocab().get(' '));
        assertEquals("a", r.vocab().get('a'));
    }

    @Test
    void replacesNonOverlappingLeftToRightAndStopsAtTheVocabularySize() {
        // "aaaa": (a,a) occurs 3 times -> "aa"; the word becomes [aa, aa], not [a, aa, a].
        // Then (aa,aa) 1 -> "aaaa". Counts are per occurrence: "aaaa" twice doubles nothing in order.
        BpeTrainer.Result r = BpeTrainer.train(List.of("aaaa", "aaaa"), 300);
        assertEquals(List.of("a a", "aa aa"), merges(r));
        BpeTrainer.Result capped = BpeTrainer.train(List.of("aaaa"), 257);
        assertEquals(List.of("a a"), merges(capped));
        assertEquals(257, capped.vocab().size());
    }

    @Test
    void multiByteCharsAreMergedFromTheirUtf8Bytes() {
        // "가" is UTF-8 EA B0 80 -> byte-level "ê°Ģ" (0x80 is the 35th unprintable byte -> U+0122).
        // Pairs (234,176) and (176,128) both occur once; the smaller left id (176) wins, then (234, 256).
        BpeTrainer.Result r = BpeTrainer.train(List.of("가"), 300);
        assertEquals(List.of("° Ģ", "ê °Ģ"), merges(r));
        assertEquals("ê°Ģ", r.vocab().get(257));
    }

    private static List<String> merges(BpeTrainer.Result r) {
        return r.merges().stream().map(m -> m[0] + " " + m[1]).toList();
    }
}
