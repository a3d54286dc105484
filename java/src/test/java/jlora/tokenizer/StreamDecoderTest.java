package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Streaming decode, checked against whole-sequence decode of the same ids: the pieces pushed
 * out one id at a time concatenate to decode(ids), and no piece carries U+FFFD (a Korean
 * syllable or emoji split across tokens only appears once complete). Inputs: Korean / emoji
 * heavy fixed strings plus fresh random strings, seed in the message.
 */
class StreamDecoderTest {
    @ParameterizedTest
    @ValueSource(strings = {TokenizerFixtures.QWEN3, TokenizerFixtures.LLAMA2, TokenizerFixtures.LLAMA3})
    void piecesConcatenateToTheFullDecode(String model) {
        Tokenizer tok = TokenizerFixtures.require(model);
        long seed = System.nanoTime();
        List<String> corpus = new ArrayList<>(List.of("안녕하세요, 반갑습니다! 👨‍👩‍👧‍👦 🇰🇷", "뷁 똠방각하 쀍 ㅋㅋㅋ 🫠"));
        for (String s : TestStrings.FIXED) if (!s.contains("\uD800")) corpus.add(s);
        corpus.addAll(TestStrings.random(seed, 100, 10));
        for (String s : corpus) {
            int[] ids = tok.encode(s, true);
            StreamDecoder sd = tok.streamDecoder(false);
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                String piece = sd.push(id);
                assertFalse(piece.contains("\uFFFD"), model + " piece " + TestStrings.escape(piece) + " of " + TestStrings.escape(s) + " seed " + seed);
                sb.append(piece);
            }
            String want = ids.length == 0 ? "" : tok.decode(ids, false, false);
            assertEquals(TestStrings.escape(want), TestStrings.escape(sb.toString()), model + " s=" + TestStrings.escape(s) + " seed " + seed);
        }
    }
}
