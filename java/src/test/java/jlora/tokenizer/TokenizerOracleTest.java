package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Oracle: transformers.js (@lenml/tokenizers, run by tools/oracle/encode.mjs) loading the same
 * tokenizer.json / tokenizer_config.json. Tolerance: none; every id of every string, with and
 * without special tokens, must be identical, and decode(ids) must give the same text.
 * Corpus: {@link TestStrings#FIXED} plus fresh random strings (seed printed on failure).
 */
class TokenizerOracleTest {
    private static final int RANDOM_STRINGS = 300;

    @ParameterizedTest
    @ValueSource(strings = {TokenizerFixtures.QWEN3, TokenizerFixtures.LLAMA2, TokenizerFixtures.LLAMA3})
    void idsMatchTransformersJs(String model) throws Exception {
        TokenizerFixtures.requireNode();
        Tokenizer tok = TokenizerFixtures.require(model);
        long seed = System.nanoTime();
        List<String> corpus = new ArrayList<>(TestStrings.FIXED);
        corpus.addAll(TestStrings.random(seed, RANDOM_STRINGS, 12));
        corpus.addAll(TestStrings.random(seed + 1, 5, 400)); // a few long ones
        JsonNode results = runOracle(TokenizerFixtures.modelDir(model), corpus);
        assertEquals(corpus.size(), results.size(), "oracle result count");

        List<String> failures = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            String s = corpus.get(i);
            JsonNode r = results.get(i);
            for (boolean special : new boolean[] {false, true}) {
                int[] want = ints(r.get(special ? "idsSpecial" : "ids"));
                int[] got = tok.encode(s, special);
                if (!Arrays.equals(want, got)) failures.add(describe(tok, s, special, want, got));
            }
            int[] ids = ints(r.get("ids"));
            if (ids.length > 0) {
                String want = r.get("decoded").asText();
                String got = tok.decode(ids, false);
                if (!want.equals(got)) {
                    failures.add("decode of " + TestStrings.escape(s) + ": want " + TestStrings.escape(want)
                            + " got " + TestStrings.escape(got));
                }
            }
        }
        if (!failures.isEmpty()) {
            fail(model + ": " + failures.size() + " mismatches vs transformers.js (seed " + seed + ", corpus "
                    + corpus.size() + " strings); first ones:\n" + String.join("\n", failures.subList(0, Math.min(5, failures.size()))));
        }
    }

    private static String describe(Tokenizer tok, String s, boolean special, int[] want, int[] got) {
        int d = 0;
        while (d < want.length && d < got.length && want[d] == got[d]) d++;
        int from = Math.max(0, d - 3);
        return "string " + TestStrings.escape(s) + " addSpecialTokens=" + special + ": first difference at token " + d
                + "\n  transformers.js: " + window(tok, want, from) + "\n  jlora:           " + window(tok, got, from);
    }

    private static String window(Tokenizer tok, int[] ids, int from) {
        StringBuilder sb = new StringBuilder("...[");
        for (int i = from; i < Math.min(ids.length, from + 10); i++) {
            if (i > from) sb.append(", ");
            String t = ids[i] < tok.vocabSize() ? tok.token(ids[i]) : "?";
            sb.append(ids[i]).append('=').append(TestStrings.escape(t));
        }
        return sb.append("] of ").append(ids.length).toString();
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    /** Runs encode.mjs once over the corpus; strings travel \\u-escaped so lone surrogates survive. */
    static JsonNode runOracle(Path modelDir, List<String> corpus) throws Exception {
        ObjectMapper mapper = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();
        Path in = Files.createTempFile("jlora-oracle-", ".json");
        Path out = Files.createTempFile("jlora-oracle-", ".out.json");
        Path err = Files.createTempFile("jlora-oracle-", ".err");
        try {
            mapper.writeValue(in.toFile(), corpus);
            Path script = TokenizerFixtures.oracleDir().resolve("encode.mjs");
            Process p = new ProcessBuilder("node", script.toString(), modelDir.toString(), in.toString())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("node " + script + " did not finish in 120 s");
            }
            assertTrue(p.exitValue() == 0, "node " + script + " failed: " + Files.readString(err));
            return mapper.readTree(new File(out.toString())).get("results");
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
