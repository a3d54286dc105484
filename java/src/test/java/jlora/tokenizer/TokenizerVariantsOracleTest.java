package jlora.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipeline parts the three shipped files do not use, on edited copies of them, against the same
 * oracle as TokenizerOracleTest (transformers.js on the edited files; ids identical):
 * <ul>
 *   <li>llama2 with the Metaspace pre-tokenizer (prepend_scheme "first") instead of the
 *       Prepend + Replace normalizers, as newer Llama / Mistral tokenizer.json files have;</li>
 *   <li>qwen3 with NFKC + Lowercase normalizers and added tokens that lstrip / rstrip.</li>
 * </ul>
 * Digits is left out: transformers.js matches only ASCII digits there, HF (and jlora) any \p{N}.
 * (A one-off run of HF tokenizers 0.23.2, the Rust library, on the same two edited files and
 * 6,052 strings also gave ids identical to jlora's, 2026-11-24.)
 */
class TokenizerVariantsOracleTest {
    @TempDir
    Path tmp;

    @Test
    void llama2WithMetaspace() throws Exception {
        check(TokenizerFixtures.LLAMA2, (json, config) -> {
            json.putNull("normalizer");
            ObjectNode meta = json.putObject("pre_tokenizer");
            meta.put("type", "Metaspace").put("replacement", "\u2581").put("add_prefix_space", true)
                    .put("prepend_scheme", "first").put("split", false);
            config.put("tokenizer_class", "PreTrainedTokenizerFast");
        });
    }

    @Test
    void qwen3WithNfkcLowercaseAndStrippingAddedTokens() throws Exception {
        check(TokenizerFixtures.QWEN3, (json, config) -> {
            ObjectNode seq = json.putObject("normalizer");
            seq.put("type", "Sequence");
            ArrayNode steps = seq.putArray("normalizers");
            steps.addObject().put("type", "NFKC");
            steps.addObject().put("type", "Lowercase");
            for (JsonNode t : json.path("added_tokens")) {
                String c = t.path("content").asText();
                if (c.equals("<|im_start|>")) ((ObjectNode) t).put("rstrip", true);
                if (c.equals("<|im_end|>")) ((ObjectNode) t).put("lstrip", true);
                if (c.equals("<|endoftext|>")) ((ObjectNode) t).put("lstrip", true).put("rstrip", true);
            }
        });
    }

    private interface Edit {
        void apply(ObjectNode json, ObjectNode config);
    }

    private void check(String model, Edit edit) throws Exception {
        TokenizerFixtures.requireNode();
        TokenizerFixtures.requireFiles(model);
        ObjectMapper mapper = new ObjectMapper();
        Path src = TokenizerFixtures.modelDir(model);
        ObjectNode json = (ObjectNode) mapper.readTree(src.resolve("tokenizer.json").toFile());
        ObjectNode config = (ObjectNode) mapper.readTree(src.resolve("tokenizer_config.json").toFile());
        edit.apply(json, config);
        mapper.writeValue(tmp.resolve("tokenizer.json").toFile(), json);
        mapper.writeValue(tmp.resolve("tokenizer_config.json").toFile(), config);
        Tokenizer tok = Tokenizer.load(tmp);

        long seed = System.nanoTime();
        List<String> corpus = new ArrayList<>(TestStrings.FIXED);
        corpus.addAll(TestStrings.random(seed, 200, 12));
        corpus.addAll(List.of("a <|im_end|> b", "x<|im_start|>   \n y", "p \t<|endoftext|>\n q", "ΑΒΓ İstanbul ǅ ﬃ"));
        JsonNode results = TokenizerOracleTest.runOracle(tmp, corpus);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            for (boolean special : new boolean[] {false, true}) {
                int[] want = ints(results.get(i).get(special ? "idsSpecial" : "ids"));
                int[] got = tok.encode(corpus.get(i), special);
                if (!Arrays.equals(want, got)) {
                    failures.add(TestStrings.escape(corpus.get(i)) + " special=" + special + "\n  transformers.js "
                            + Arrays.toString(want) + "\n  jlora           " + Arrays.toString(got));
                }
            }
        }
        if (!failures.isEmpty()) {
            fail(model + " variant: " + failures.size() + " mismatches (seed " + seed + "):\n"
                    + String.join("\n", failures.subList(0, Math.min(5, failures.size()))));
        }
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }
}
