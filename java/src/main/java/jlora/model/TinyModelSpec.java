package jlora.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;

/**
 * The built-in tiny model that `./jlora` runs on a fresh machine: a Qwen2-style decoder small
 * enough to train on a laptop CPU in seconds, with every code path of the real families
 * (GQA, q/k/v bias, RoPE, SwiGLU, tied head) exercised.
 *
 * <p>Shape: 2 layers, hidden 64, 4 query heads and 2 kv heads of 16 dims (GQA 2:1), SwiGLU MLP
 * of 128 (2x hidden, smaller than Qwen's ~5.3x to keep the MLP from dominating at this size),
 * RoPE theta 10000 over 2048 positions, tied embeddings as in the small Qwen2.5 models, fp32
 * weights (the CPU reference computes in fp32). The vocabulary and special ids come from the
 * tokenizer shipped with it, so they are parameters. Parameters: 64 * vocab + 74,304.
 *
 * @param vocabSize rows of the embedding: the tokenizer's vocabulary including added tokens
 * @param bosTokenId null if the tokenizer has none (Qwen has none)
 * @param eosTokenIds the end-of-turn / end-of-text ids generation stops at
 */
public record TinyModelSpec(int vocabSize, Integer bosTokenId, List<Integer> eosTokenIds) {
    public static final int HIDDEN = 64;
    public static final int INTERMEDIATE = 128;
    public static final int LAYERS = 2;
    public static final int HEADS = 4;
    public static final int KV_HEADS = 2;
    public static final int MAX_POSITIONS = 2048;

    public TinyModelSpec {
        if (vocabSize <= 0) throw new IllegalArgumentException("vocabSize must be positive, got " + vocabSize);
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /**
     * config.json text in the layout transformers writes: keys sorted (to_json_string uses
     * sort_keys=True; they are put in that order below), indented.
     */
    public String configJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        o.putArray("architectures").add(ModelType.QWEN2.defaultArchitecture);
        o.put("attention_dropout", 0.0);
        if (bosTokenId != null) o.put("bos_token_id", bosTokenId);
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.getFirst());
        } else if (!eosTokenIds.isEmpty()) {
            var a = o.putArray("eos_token_id");
            eosTokenIds.forEach(a::add);
        }
        o.put("hidden_act", "silu");
        o.put("hidden_size", HIDDEN);
        o.put("initializer_range", 0.02);
        o.put("intermediate_size", INTERMEDIATE);
        o.put("max_position_embeddings", MAX_POSITIONS);
        o.put("max_window_layers", LAYERS);
        o.put("model_type", ModelType.QWEN2.id);
        o.put("num_attention_heads", HEADS);
        o.put("num_hidden_layers", LAYERS);
        o.put("num_key_value_heads", KV_HEADS);
        o.put("rms_norm_eps", 1e-6);
        o.put("rope_theta", 10000.0);
        o.putNull("sliding_window");
        o.put("tie_word_embeddings", true);
        o.put("torch_dtype", "float32");
        o.put("use_cache", true);
        o.put("use_sliding_window", false);
        o.put("vocab_size", vocabSize);
        try {
            // transformers writes `"key": value`; Jackson defaults to `"key" : value`.
            var printer = new DefaultPrettyPrinter().withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
            return json.writer(printer).writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The config this spec describes, parsed through the same path as a downloaded model. */
    public ModelConfig modelConfig() {
        return ModelConfig.parse(configJson(), Path.of("<built-in tiny model>/config.json"));
    }
}
