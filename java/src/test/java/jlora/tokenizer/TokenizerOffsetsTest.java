package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Token char offsets, checked against the input text itself: ranges lie in the text, never go
 * backwards, leave no char uncovered, and a token that owns its range alone decodes to
 * exactly the covered text (byte-level tokenizers; for Llama 2 its token string with U+2581
 * read as a space, minus the one U+2581 the Prepend normalizer puts at each section start).
 * Inputs: fixed corpus (NFC, so normalization is not the thing under test here; an NFD case
 * is checked separately) plus fresh random strings, seed in the message.
 */
class TokenizerOffsetsTest {
    @ParameterizedTest
    @ValueSource(strings = {TokenizerFixtures.QWEN3, TokenizerFixtures.LLAMA2, TokenizerFixtures.LLAMA3})
    void offsetsCoverTheText(String model) {
        Tokenizer tok = TokenizerFixtures.require(model);
        long seed = System.nanoTime();
        List<String> corpus = new ArrayList<>();
        for (String s : TestStrings.FIXED) if (!s.contains("\uD800")) corpus.add(Normalizer.normalize(s, Normalizer.Form.NFC));
        for (String s : TestStrings.random(seed, 200, 12)) corpus.add(Normalizer.normalize(s, Normalizer.Form.NFC));
        for (String s : corpus) {
            String where = model + " s=" + TestStrings.escape(s) + " seed " + seed;
            Encoding e = tok.encodeWithOffsets(s, false);
            assertEquals(e.ids().length, tok.encode(s, false).length, where);
            boolean[] covered = new boolean[s.length()];
            int prevStart = 0;
            for (int t = 0; t < e.size(); t++) {
                int a = e.starts()[t];
                int z = e.ends()[t];
                assertTrue(0 <= a && a <= z && z <= s.length() && a >= prevStart,
                        where + ": token " + t + " range [" + a + "," + z + ") after start " + prevStart);
                prevStart = a;
                for (int i = a; i < z; i++) covered[i] = true;
                boolean alone = (t == 0 || e.ends()[t - 1] <= a) && (t + 1 == e.size() || e.starts()[t + 1] >= z);
                if (alone && a < z) {
                    String text = s.substring(a, z);
                    String piece = tok.token(e.ids()[t]);
                    boolean spm = model.equals(TokenizerFixtures.LLAMA2) && TokenDecoder.ByteFallback.byteToken(piece) < 0;
                    String got = spm ? piece.replace('\u2581', ' ') : tok.decode(new int[] {e.ids()[t]}, false, false);
                    if (model.equals(TokenizerFixtures.LLAMA2) && got.length() == text.length() + 1) got = got.substring(1);
                    assertEquals(TestStrings.escape(text.replace('\u2581', ' ')), TestStrings.escape(got),
                            where + ": token " + t + " [" + a + "," + z + ")");
                }
            }
            for (int i = 0; i < covered.length; i++) assertTrue(covered[i], where + ": char " + i + " not covered");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {TokenizerFixtures.QWEN3})
    void offsetsRefertoTheTextBeforeNfc(String model) {
        Tokenizer tok = TokenizerFixtures.require(model);
        String s = "cafe\u0301 한국 e\u0301e\u0301 end"; // NFD input: NFC shortens it by 3 chars
        Encoding e = tok.encodeWithOffsets(s, false);
        assertEquals(s.length(), e.ends()[e.size() - 1], "last token ends at the end of the original text");
        StringBuilder joined = new StringBuilder();
        int prevEnd = 0;
        for (int t = 0; t < e.size(); t++) {
            if (e.starts()[t] >= prevEnd) joined.append(s, e.starts()[t], e.ends()[t]);
            prevEnd = Math.max(prevEnd, e.ends()[t]);
        }
        assertEquals(TestStrings.escape(s), TestStrings.escape(joined.toString()), "non-overlapping ranges rebuild the text");
    }
}
