package jlora.nn;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import jlora.io.SafetensorsWriter;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Tiny Hugging Face model directories for the model tests: Qwen2 is the built-in TinyModel;
 * Llama (untied head, no bias), Qwen3 (q/k norm, head_dim larger than hidden/heads, tied) and
 * Mistral (GQA 4:1, sliding window) are written here with random weights (norms near 1, not
 * exactly 1, so their weights matter); "qwen2-random" is TinyModel's config with such weights.
 */
public final class TinyModels {
    private TinyModels() {}

    public static Path write(Path dir, String type, long seed) {
        try {
            Files.createDirectories(dir);
            if (type.equals("qwen2")) {
                TinyModel.writeTo(dir);
                return dir;
            }
            String config = switch (type) {
                // TinyModel's Qwen2 config with this class's larger random weights: TinyModel's std-0.02
                // tied head bounds every logit margin near 1.3, too little to overfit a batch.
                case "qwen2-random" -> TinyModel.spec().configJson();
                case "llama" -> """
                        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32,
                         "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
                         "num_key_value_heads": 2, "vocab_size": 97, "max_position_embeddings": 256,
                         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false,
                         "attention_bias": false, "mlp_bias": false, "hidden_act": "silu", "torch_dtype": "float32"}""";
                case "qwen3" -> """
                        {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 32,
                         "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
                         "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 97, "max_position_embeddings": 256,
                         "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
                         "attention_bias": false, "hidden_act": "silu", "torch_dtype": "float32",
                         "use_sliding_window": false, "sliding_window": null}""";
                case "mistral" -> """
                        {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 32,
                         "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
                         "num_key_value_heads": 1, "vocab_size": 97, "max_position_embeddings": 256,
                         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false,
                         "sliding_window": 16, "hidden_act": "silu", "torch_dtype": "float32"}""";
                default -> throw new IllegalArgumentException(type);
            };
            Files.writeString(dir.resolve("config.json"), config);
            ModelConfig c = ModelConfig.load(dir);
            SplittableRandom rng = new SplittableRandom(seed);
            try (Arena arena = Arena.ofConfined()) {
                LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
                for (Map.Entry<String, Shape> e : c.weightMap().expected().entrySet()) {
                    float[] v = new float[Math.toIntExact(e.getValue().numel())];
                    String n = e.getKey();
                    for (int i = 0; i < v.length; i++) {
                        double g = gaussian(rng);
                        v[i] = (float) (n.endsWith("norm.weight") ? 1 + 0.1 * g : n.endsWith(".bias") ? 0.1 * g : 0.15 * g);
                    }
                    tensors.put(n, Tensor.of(DType.F32, e.getValue(), v, arena));
                }
                SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            }
            return dir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.nextDouble());
    }
}
