package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Property: decode(encode(s)) gives s back, with clean_up_tokenization_spaces off (that
 * clean-up is lossy by design). Oracle: the input string itself, after the transformations
 * the tokenizer file declares:
 * <ul>
 *   <li>Llama 3 (byte-level, no normalizer): exactly s.</li>
 *   <li>Qwen3 (byte-level, NFC normalizer): NFC(s).</li>
 *   <li>Llama 2 (SentencePiece BPE, byte fallback): every text section (the text between
 *       added tokens such as {@code <s>}) gets a U+2581 prepended by the Prepend normalizer;
 *       the decoder turns each U+2581 into a space and strips one leading space of the whole
 *       output. So s comes back with one space inserted after each added token that is followed
 *       by text, and with any U+2581 already in s turned into a space.</li>
 * </ul>
 * Inputs: the fixed corpus (minus the lone-surrogate string, which cannot survive UTF-8)
 * and fresh random strings; the seed is in the failure message.
 */
class TokenizerRoundTripTest {
    private static final List<String> LLAMA2_ADDED = List.of("<unk>", "<s>", "</s>");

    @Test
    void llama3() {
        check(TokenizerFixtures.require(TokenizerFixtures.LLAMA3), s -> s);
    }

    @Test
    void qwen3() {
        check(TokenizerFixtures.require(TokenizerFixtures.QWEN3), s -> Normalizer.normalize(s, Normalizer.Form.NFC));
    }

    @Test
    void llama2() {
        check(TokenizerFixtures.require(TokenizerFixtures.LLAMA2), TokenizerRoundTripTest::llama2Expected);
    }

    private static void check(Tokenizer tok, java.util.function.UnaryOperator<String> expected) {
        long seed = System.nanoTime();
        List<String> corpus = new ArrayList<>();
        for (String s : TestStrings.FIXED) if (!s.contains("\uD800")) corpus.add(s);
        corpus.addAll(TestStrings.random(seed, 400, 12));
        for (String s : corpus) {
            String got = tok.decode(tok.encode(s, false), false, false);
            assertEquals(TestStrings.escape(expected.apply(s)), TestStrings.escape(got),
                    "decode(encode(s)) for s = " + TestStrings.escape(s) + " (seed " + seed + ")");
        }
    }

    /** Leftmost-longest scan for Llama 2's added tokens, written independently of the splitter. */
    private static String llama2Expected(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        boolean afterToken = false;
        while (i < s.length()) {
            String match = null;
            for (String t : LLAMA2_ADDED) {
                if (s.startsWith(t, i) && (match == null || t.length() > match.length())) match = t;
            }
            if (match != null) {
                out.append(match);
                i += match.length();
                afterToken = true;
            } else {
                if (afterToken) out.append(' ');
                afterToken = false;
                char c = s.charAt(i++);
                out.append(c == '\u2581' ? ' ' : c);
            }
        }
        return out.toString();
    }
}
