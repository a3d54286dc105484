package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Split behaviours and the byte-level map, against the examples Hugging Face documents
 * (tokenizers' SplitDelimiterBehavior docs: "the-final--countdown" split on "-"; GPT-2's
 * bytes_to_unicode: space is U+0120 'Ġ', newline U+010A 'Ċ'). Needs no fixtures.
 */
class PreTokenizerSplitTest {
    private static List<String> split(PreTokenizer.Behavior b, boolean invert, String text) {
        PreTokenizer.Split s = new PreTokenizer.Split(Pattern.compile("-"), b, invert);
        IntBuffer in = new IntBuffer(3);
        in.add(0, text.length(), 0);
        IntBuffer out = new IntBuffer(16);
        s.split(text, in, out, 0);
        List<String> got = new ArrayList<>();
        for (int i = 0; i < out.size; i += 3) got.add(text.substring(out.get(i), out.get(i + 1)));
        return got;
    }

    @Test
    void behavioursMatchTheHfDocumentation() {
        String t = "the-final--countdown";
        assertEquals(List.of("the", "final", "countdown"), split(PreTokenizer.Behavior.REMOVED, false, t));
        assertEquals(List.of("the", "-", "final", "-", "-", "countdown"), split(PreTokenizer.Behavior.ISOLATED, false, t));
        assertEquals(List.of("the-", "final-", "-", "countdown"), split(PreTokenizer.Behavior.MERGED_WITH_PREVIOUS, false, t));
        assertEquals(List.of("the", "-final", "-", "-countdown"), split(PreTokenizer.Behavior.MERGED_WITH_NEXT, false, t));
        assertEquals(List.of("the", "-", "final", "--", "countdown"), split(PreTokenizer.Behavior.CONTIGUOUS, false, t));
        assertEquals(List.of("-", "-", "-"), split(PreTokenizer.Behavior.REMOVED, true, t), "invert keeps the matches");
    }

    @Test
    void byteLevelMapIsGpt2s() {
        assertEquals('\u0120', ByteLevel.BYTE_TO_CHAR[' ']);
        assertEquals('\u010A', ByteLevel.BYTE_TO_CHAR['\n']);
        assertEquals('!', ByteLevel.BYTE_TO_CHAR['!']);
        boolean[] seen = new boolean[400];
        for (int b = 0; b < 256; b++) {
            char c = ByteLevel.BYTE_TO_CHAR[b];
            assertEquals(false, seen[c], "char " + (int) c + " used twice");
            seen[c] = true;
            assertEquals(b, ByteLevel.byteOf(c), "inverse of byte " + b);
        }
    }
}
