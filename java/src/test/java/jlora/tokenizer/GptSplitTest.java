package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-written split scanner against java.util.regex running the same pattern with
 * UNICODE_CHARACTER_CLASS (the engine the generic Split path uses, itself checked against
 * transformers.js by TokenizerOracleTest). Exact: every piece boundary must agree. Inputs: the
 * fixed corpus, random strings, and random strings dense in whitespace, apostrophes, digits and
 * the code points where regex engines disagree (U+0085, U+FEFF, U+017F, lone surrogates); seed
 * in the message.
 */
class GptSplitTest {
    private static final String EDGY = " \t\n\r\u000b\u000c\u0085\u00a0\u1680\u2000\u2028\u2029\u202f\u205f\u3000\ufeff"
            + "''sStTmMdDrReEvVlL\u017f\u212a\u0130aZ1٣²Ⅳ.,!-_가힣\u1100\u0301\ud800\udc00\ud83d\ude00";

    @Test
    void matchesJavaRegexForQwenAndLlama3() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> corpus = new ArrayList<>(TestStrings.FIXED);
        corpus.addAll(TestStrings.random(seed, 300, 12));
        for (int n = 0; n < 2000; n++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + rnd.nextInt(12);
            for (int i = 0; i < len; i++) sb.append(EDGY.charAt(rnd.nextInt(EDGY.length())));
            corpus.add(sb.toString());
        }
        check(new GptSplit(1), GptSplit.QWEN_REGEX, corpus, seed);
        check(new GptSplit(3), GptSplit.LLAMA3_REGEX, corpus, seed);
    }

    @Test
    void theRealFilesUseThesePatterns() throws Exception {
        for (String[] m : new String[][] {{TokenizerFixtures.QWEN3, GptSplit.QWEN_REGEX}, {TokenizerFixtures.LLAMA3, GptSplit.LLAMA3_REGEX}}) {
            TokenizerFixtures.require(m[0]);
            var root = new ObjectMapper().readTree(TokenizerFixtures.modelDir(m[0]).resolve("tokenizer.json").toFile());
            String regex = root.path("pre_tokenizer").path("pretokenizers").get(0).path("pattern").path("Regex").asText();
            assertEquals(m[1], regex, m[0] + " split regex (the fast scanner is used only on an exact match)");
        }
    }

    private static void check(GptSplit scanner, String regex, List<String> corpus, long seed) {
        Pattern p = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        for (String s : corpus) {
            List<String> want = new ArrayList<>();
            Matcher m = p.matcher(s);
            int prev = 0;
            while (m.find()) {
                if (m.start() > prev) want.add(s.substring(prev, m.start()));
                if (m.end() > m.start()) want.add(m.group());
                prev = m.end();
            }
            if (prev < s.length()) want.add(s.substring(prev));
            IntBuffer in = new IntBuffer(3);
            in.add(0, s.length(), 0);
            IntBuffer out = new IntBuffer(16);
            scanner.split(s, in, out, 0);
            List<String> got = new ArrayList<>();
            for (int i = 0; i < out.size; i += 3) got.add(s.substring(out.get(i), out.get(i + 1)));
            assertEquals(escape(want), escape(got), "pieces of " + TestStrings.escape(s) + " (seed " + seed + ", K=" + scanner.maxDigits() + ")");
        }
    }

    private static List<String> escape(List<String> l) {
        return l.stream().map(TestStrings::escape).toList();
    }
}
