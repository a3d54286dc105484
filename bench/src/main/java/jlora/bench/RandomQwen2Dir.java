package jlora.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import jlora.io.SafetensorsWriter;
import jlora.model.ModelConfig;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * A Qwen2-shaped Hugging Face directory with random weights (std 0.02 as initializer_range, norms
 * near 1) for the engine benchmarks: speed does not depend on the values, only the shapes.
 * Modelled on the test helper TinyModels, which bench cannot see.
 */
record RandomQwen2Dir(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab) {
    /** One Qwen2.5-1.5B decoder layer (hidden 1536, MLP 8960, 12 query / 2 KV heads of 128) under a small vocabulary. */
    static RandomQwen2Dir qwen25OnePointFiveBLayers(int layers, int vocab) {
        return new RandomQwen2Dir(1536, 8960, layers, 12, 2, vocab);
    }

    String configJson() {
        return """
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": %d,
                 "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                 "num_key_value_heads": %d, "vocab_size": %d, "max_position_embeddings": 32768,
                 "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
                 "hidden_act": "silu", "torch_dtype": "float32", "use_sliding_window": false,
                 "sliding_window": null, "attention_dropout": 0.0}"""
                .formatted(hidden, intermediate, layers, heads, kvHeads, vocab);
    }

    Path write(Path dir, long seed) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), configJson());
            ModelConfig c = ModelConfig.load(dir);
            SplittableRandom rng = new SplittableRandom(seed);
            try (Arena arena = Arena.ofConfined()) {
                LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
                for (Map.Entry<String, Shape> e : c.weightMap().expected().entrySet()) {
                    float[] v = new float[Math.toIntExact(e.getValue().numel())];
                    String n = e.getKey();
                    for (int i = 0; i < v.length; i++) {
                        // Uniform with std 0.02 (√3·0.02 half-width): cheaper than Gaussian for 47 M values.
                        double u = 2 * rng.nextDouble() - 1;
                        v[i] = (float) (n.endsWith("norm.weight") ? 1 + 0.1 * u : 0.0346 * u);
                    }
                    tensors.put(n, Tensor.of(DType.F32, e.getValue(), v, arena));
                }
                SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
