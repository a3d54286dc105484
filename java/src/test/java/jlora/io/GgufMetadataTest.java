package jlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import jlora.UserError;
import jlora.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {arch}.* keys for published configs, against the values convert_hf_to_gguf.py writes
 * for them (gguf-py constants.py key names): Qwen3's head_dim 128 ≠ hidden/heads gives
 * key_length/value_length; yarn and linear scaling become rope.scaling.*; dynamic is refused;
 * Llama 3.1's llama3 scaling becomes rope_freqs.weight with the divisors of Meta's
 * apply_scaling, computed here independently of RopeScaling.
 */
class GgufMetadataTest {
    @TempDir
    Path tmp;

    private Map<String, Object> keys(ModelConfig c) throws IOException {
        GgufWriter w = new GgufWriter();
        GgufExport.putModelMetadata(w, c, GgufExport.architecture(c), "m", GgufFileType.F16);
        Path out = tmp.resolve("m.gguf");
        w.write(out);
        return GgufWriterTest.read(out).kv();
    }

    private static ModelConfig config(String json) {
        return ModelConfig.parse(json, Path.of("config.json"));
    }

    @Test
    void qwen3HeadDimDiffersFromHiddenOverHeads() throws IOException {
        Map<String, Object> kv = keys(config("""
                {"model_type": "qwen3", "hidden_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 8,
                 "head_dim": 128, "intermediate_size": 3072, "num_hidden_layers": 28, "vocab_size": 151936,
                 "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000,
                 "tie_word_embeddings": true}"""));
        assertEquals("qwen3", kv.get("general.architecture"));
        assertEquals(128L, kv.get("qwen3.attention.key_length"));
        assertEquals(128L, kv.get("qwen3.attention.value_length"));
        assertEquals(16L, kv.get("qwen3.attention.head_count"));
        assertEquals(8L, kv.get("qwen3.attention.head_count_kv"));
        assertEquals(40960L, kv.get("qwen3.context_length"));
        assertEquals(1e6, (double) kv.get("qwen3.rope.freq_base"));
        assertEquals((double) 1e-6f, kv.get("qwen3.attention.layer_norm_rms_epsilon"));
    }

    @Test
    void yarnAndLinearScaling() throws IOException {
        Map<String, Object> kv = keys(config("""
                {"model_type": "qwen2", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 300, "max_position_embeddings": 32768,
                 "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}"""));
        assertEquals("yarn", kv.get("qwen2.rope.scaling.type"));
        assertEquals(4.0, kv.get("qwen2.rope.scaling.factor"));
        assertEquals(32768L, kv.get("qwen2.rope.scaling.original_context_length"));
        assertFalse(kv.containsKey("qwen2.attention.key_length"), "head_dim = hidden/heads needs no key_length");
        Map<String, Object> lin = keys(config("""
                {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128,
                 "num_hidden_layers": 2, "vocab_size": 300, "rope_scaling": {"rope_type": "linear", "factor": 2.0}}"""));
        assertEquals("llama", lin.get("general.architecture"));
        assertEquals("linear", lin.get("llama.rope.scaling.type"));
        assertEquals(2.0, lin.get("llama.rope.scaling.factor"));
        assertEquals(4L, lin.get("llama.attention.head_count_kv"), "llama defaults kv heads to heads");
    }

    @Test
    void dynamicScalingIsRefused() {
        ModelConfig c = config("""
                {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128,
                 "num_hidden_layers": 2, "vocab_size": 300, "rope_scaling": {"rope_type": "dynamic", "factor": 2.0}}""");
        assertThrows(UserError.class, () -> keys(c));
    }

    /**
     * Llama 3.1 (factor 8, low 1, high 4, original 8192, theta 500000, head_dim 128): Meta's
     * apply_scaling keeps wavelengths below 8192/4 (factor 1), divides those above 8192/1 by 8,
     * and blends between with smooth = (8192/wavelen − 1)/(4 − 1): divisor 1/((1−s)/8 + s).
     */
    @Test
    void llama3RopeFactors() {
        ModelConfig c = config("""
                {"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
                 "intermediate_size": 14336, "num_hidden_layers": 32, "vocab_size": 128256,
                 "max_position_embeddings": 131072, "rope_theta": 500000.0,
                 "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}}""");
        float[] f = GgufExport.llama3RopeFactors(c);
        assertEquals(64, f.length);
        for (int i = 0; i < 64; i++) {
            double wavelen = 2 * Math.PI * Math.pow(500000.0, 2.0 * i / 128);
            double want;
            if (wavelen < 8192 / 4.0) want = 1;
            else if (wavelen > 8192 / 1.0) want = 8;
            else {
                double s = (8192 / wavelen - 1) / (4 - 1);
                want = 1 / ((1 - s) / 8 + s);
            }
            assertEquals(want, f[i], 1e-5 * want, "dimension pair " + i);
        }
    }
}
