package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jlora.model.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Oracle: transformers.js (tools/oracle/encode.mjs) loading the tokenizer.json that
 * {@link TinyModel} writes, with the BPE merges learned from the bundled samples. Tolerance:
 * none; every id, with and without special tokens, and decode(ids), must match. Corpus: Korean,
 * English and mixed strings, ChatML with specials, {@link TestStrings#FIXED} and fresh random
 * strings (seed printed on failure). Skipped only when node or the oracle package is absent.
 */
class TinyTokenizerOracleTest {
    @TempDir
    Path tmp;

    @Test
    void tinyTokenizerEncodesAsTransformersJs() throws Exception {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        Tokenizer tok = Tokenizer.load(dir);
        assertEquals(TinyModel.spec().vocabSize(), tok.vocabSize(), "vocab incl. specials vs config.json");
        TokenizerFixtures.requireNode();
        long seed = System.nanoTime();
        List<String> corpus = new ArrayList<>(List.of(
                "안녕하세요! 무엇을 도와드릴까요?",
                "오늘 제주 날씨 어때? 비 올 확률은 30%예요.",
                "The quick brown fox jumps over the lazy dog.",
                "Qwen2.5 모델을 LoRA로 fine-tuning 해 보세요 (rank 8, lr 3e-3).",
                "<|im_start|>user\n한글은 누가 만들었나요?<|im_end|>\n<|im_start|>assistant\n세종대왕입니다.<|im_end|>\n",
                "{\"city\": \"서울\", \"date\": \"2025-05-12\"}",
                "  \n\n\t 띄어쓰기   여러 칸\r\n"));
        corpus.addAll(TestStrings.FIXED);
        corpus.addAll(TestStrings.random(seed, 200, 12));
        JsonNode results = TokenizerOracleTest.runOracle(dir, corpus);
        assertEquals(corpus.size(), results.size(), "oracle result count");
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            String s = corpus.get(i);
            for (boolean special : new boolean[] {false, true}) {
                int[] want = ints(results.get(i).get(special ? "idsSpecial" : "ids"));
                int[] got = tok.encode(s, special);
                if (!Arrays.equals(want, got)) {
                    failures.add(TestStrings.escape(s) + " special=" + special + ": transformers.js "
                            + Arrays.toString(want) + ", jlora " + Arrays.toString(got));
                }
            }
            int[] ids = ints(results.get(i).get("ids"));
            String want = results.get(i).get("decoded").asText();
            String got = ids.length == 0 ? "" : tok.decode(ids, false);
            if (!want.equals(got)) failures.add("decode of " + TestStrings.escape(s) + ": want " + TestStrings.escape(want)
                    + " got " + TestStrings.escape(got));
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " mismatches vs transformers.js (seed " + seed + "); first ones:\n"
                    + String.join("\n", failures.subList(0, Math.min(5, failures.size()))));
        }
    }

    /** The point of the merges: sample Korean text takes far fewer tokens than UTF-8 bytes. */
    @Test
    void koreanSampleTextIsMostlyWholeSyllables() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        Tokenizer tok = Tokenizer.load(dir);
        String s = "안녕하세요! 무엇을 도와드릴까요?";
        int[] ids = tok.encode(s, false);
        int bytes = s.getBytes(StandardCharsets.UTF_8).length;
        assertTrue(ids.length * 3 <= bytes, ids.length + " tokens for " + bytes + " bytes: " + Arrays.toString(ids));
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }
}
