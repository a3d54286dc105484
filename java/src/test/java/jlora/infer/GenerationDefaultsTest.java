package jlora.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * generation_config.json as transformers reads it: Qwen2.5-7B-Instruct's published file (values
 * copied from its model card repository) gives its settings; absent fields and an absent file
 * give transformers' GenerationConfig defaults; eos ids merge with config.json's.
 */
class GenerationDefaultsTest {
    @TempDir
    Path tmp;

    @Test
    void qwenFileOverridesTransformersDefaults() throws Exception {
        Files.writeString(tmp.resolve("generation_config.json"), """
                {"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643],
                 "repetition_penalty": 1.05, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}""");
        GenerationDefaults d = GenerationDefaults.load(tmp);
        assertEquals(new GenerationDefaults(true, 0.7, 0.8, 20, 0.0, 1.05, 512), d);
        assertEquals(new SamplingParams(0.7, 0.8, 20, 0.0, 1.05, 5L, 512, List.of()), d.sampling(5L, List.of()));
        assertEquals(Set.of(151643, 151645), StopCriteria.eosIds(tmp, List.of(151643), -1));
    }

    @Test
    void absentFileIsTransformersGreedy() {
        GenerationDefaults d = GenerationDefaults.load(tmp);
        assertEquals(GenerationDefaults.TRANSFORMERS, d);
        assertEquals(0.0, d.sampling(null, List.of()).temperature());
    }

    @Test
    void badFieldNamesFile() throws Exception {
        Files.writeString(tmp.resolve("generation_config.json"), "{\"top_p\": \"high\"}");
        UserError e = assertThrows(UserError.class, () -> GenerationDefaults.load(tmp));
        assertTrue(e.getMessage().contains("generation_config.json") && e.getMessage().contains("top_p"), e.getMessage());
    }
}
