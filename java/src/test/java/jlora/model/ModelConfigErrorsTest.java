package jlora.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bad config gives one UserError that names the file and the field and says what to
 * do. Oracle: the message text a user would need (file path, field, line/column, list).
 */
class ModelConfigErrorsTest {
    @TempDir
    Path dir;

    private UserError loadFails(String json) throws IOException {
        Files.writeString(dir.resolve("config.json"), json);
        return assertThrows(UserError.class, () -> ModelConfig.load(dir));
    }

    private static void assertMentions(UserError e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
        }
    }

    @Test
    void missingDirectory() {
        Path gone = dir.resolve("nope");
        UserError e = assertThrows(UserError.class, () -> ModelConfig.load(gone));
        assertMentions(e, gone.toString(), "does not exist", "Hugging Face model directory");
    }

    @Test
    void directoryWithoutConfigJson() {
        UserError e = assertThrows(UserError.class, () -> ModelConfig.load(dir));
        assertMentions(e, "No config.json in " + dir, "Hugging Face model directory");
    }

    @Test
    void badJsonNamesLineAndColumn() throws IOException {
        UserError e = loadFails("{\n  \"model_type\": \"qwen2\",\n  \"hidden_size\": 64,,\n}");
        assertMentions(e, dir.resolve("config.json").toString(), "line 3, column", "not valid JSON");
    }

    @Test
    void emptyFileAndNonObject() throws IOException {
        assertMentions(loadFails(""), "must hold a JSON object");
        assertMentions(loadFails("[1, 2]"), "must hold a JSON object", "array");
    }

    @Test
    void unknownModelTypeListsSupported() throws IOException {
        UserError e = loadFails("{\"model_type\": \"gpt2\"}");
        assertMentions(e, "'gpt2'", "qwen2, qwen3, llama, mistral");
    }

    @Test
    void missingModelType() throws IOException {
        assertMentions(loadFails("{\"hidden_size\": 64}"), "model_type", "qwen2, qwen3, llama, mistral");
    }

    @Test
    void missingRequiredFieldIsNamed() throws IOException {
        UserError e = loadFails(TinyJson.qwen2("").replace("\"hidden_size\": 64,", ""));
        assertMentions(e, dir.resolve("config.json").toString(), "missing field 'hidden_size'", "qwen2");
    }

    @Test
    void wrongTypedFieldIsNamed() throws IOException {
        UserError e = loadFails(TinyJson.qwen2("").replace("\"hidden_size\": 64", "\"hidden_size\": \"64\""));
        assertMentions(e, dir.resolve("config.json").toString(), "'hidden_size'", "must be an integer", "string");
        UserError f = loadFails(TinyJson.qwen2(", \"rms_norm_eps\": true"));
        assertMentions(f, "'rms_norm_eps'", "must be a number");
        UserError g = loadFails(TinyJson.qwen2(", \"tie_word_embeddings\": \"yes\""));
        assertMentions(g, "'tie_word_embeddings'", "true or false");
    }

    @Test
    void unsupportedActivation() throws IOException {
        assertMentions(loadFails(TinyJson.llama(", \"hidden_act\": \"gelu\"")), "'hidden_act'", "gelu", "silu");
    }

    @Test
    void kvHeadsMustDivideHeads() throws IOException {
        assertMentions(loadFails(TinyJson.llama(", \"num_key_value_heads\": 3")), "'num_key_value_heads'", "divide");
    }

    @Test
    void nonPositiveSize() throws IOException {
        assertMentions(loadFails(TinyJson.qwen2("").replace("\"vocab_size\": 100", "\"vocab_size\": 0")),
                "'vocab_size'", "positive");
    }

    @Test
    void ropeScalingProblemsNameTheNestedField() throws IOException {
        assertMentions(loadFails(TinyJson.llama(", \"rope_scaling\": {\"rope_type\": \"longrope\", \"factor\": 2}")),
                "'rope_scaling.rope_type'", "longrope", "linear, dynamic, llama3, yarn");
        assertMentions(loadFails(TinyJson.llama(", \"rope_scaling\": {\"rope_type\": \"linear\"}")),
                "'rope_scaling.factor'");
        assertMentions(loadFails(TinyJson.llama(", \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 0.5}")),
                "'rope_scaling.factor'", ">= 1");
        assertMentions(loadFails(TinyJson.llama(", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}")),
                "rope_scaling.low_freq_factor");
        assertMentions(loadFails(TinyJson.llama(", \"rope_scaling\": {\"factor\": 8}")), "rope_type");
        assertMentions(loadFails(TinyJson.llama(", \"rope_scaling\": 3")), "'rope_scaling'", "an object");
    }

    @Test
    void oddHeadDim() throws IOException {
        assertMentions(loadFails(TinyJson.llama(", \"head_dim\": 15")), "'head_dim'", "even");
    }

    @Test
    void trailingGarbageDuplicateKeysAndBadBytes() throws IOException {
        assertMentions(loadFails(TinyJson.qwen2("") + "\n}"), "line 2", "not valid JSON");
        assertMentions(loadFails(TinyJson.qwen2(", \"vocab_size\": 5")), "not valid JSON", "vocab_size");
        Files.write(dir.resolve("config.json"), new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'});
        UserError e = assertThrows(UserError.class, () -> ModelConfig.load(dir));
        assertMentions(e, "not valid JSON", "line 1");
    }

    @Test
    void refusesAHugeFileInsteadOfReadingIt() throws IOException {
        Path big = dir.resolve("model.safetensors");
        try (var f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(ModelConfig.MAX_CONFIG_BYTES + 1); // sparse: no real disk use
        }
        UserError e = assertThrows(UserError.class, () -> ModelConfig.load(big));
        assertMentions(e, big.toString(), "too large for a config.json");
    }

    @Test
    void partialRotaryIsRefused() throws IOException {
        assertMentions(loadFails(TinyJson.llama(", \"partial_rotary_factor\": 0.5")), "'partial_rotary_factor'");
    }

    @Test
    void nullInsideEosListIsNamed() throws IOException {
        UserError e = loadFails(TinyJson.llama(", \"eos_token_id\": [1, null]"));
        assertMentions(e, "'eos_token_id' must be an integer, found null.");
    }
}
