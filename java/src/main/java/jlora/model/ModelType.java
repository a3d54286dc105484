package jlora.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The model families jlora runs. They share one decoder layer (pre-norm RMSNorm, RoPE, GQA
 * attention, SwiGLU MLP) and differ in a few flags that {@link ModelConfig} resolves; the
 * defaults below are those of the transformers config class of each family, used when a
 * config.json leaves a field out.
 */
public enum ModelType {
    QWEN2("qwen2", "Qwen2ForCausalLM", 32768, 4096, 28),
    QWEN3("qwen3", "Qwen3ForCausalLM", 32768, 4096, 28),
    LLAMA("llama", "LlamaForCausalLM", 2048, 0, 0),
    MISTRAL("mistral", "MistralForCausalLM", 4096 * 32, 4096, 0);

    /** The {@code model_type} string of config.json. */
    public final String id;
    /** The architecture transformers instantiates when {@code architectures} is absent. */
    public final String defaultArchitecture;
    final int defaultMaxPositionEmbeddings;
    /** Sliding-window size when the key is absent (0: the family has no sliding window). */
    final int defaultSlidingWindow;
    /** Qwen: layers at index >= max_window_layers use the window when it is enabled. */
    final int defaultMaxWindowLayers;

    ModelType(String id, String defaultArchitecture, int defaultMaxPositionEmbeddings,
              int defaultSlidingWindow, int defaultMaxWindowLayers) {
        this.id = id;
        this.defaultArchitecture = defaultArchitecture;
        this.defaultMaxPositionEmbeddings = defaultMaxPositionEmbeddings;
        this.defaultSlidingWindow = defaultSlidingWindow;
        this.defaultMaxWindowLayers = defaultMaxWindowLayers;
    }

    public static Optional<ModelType> fromId(String id) {
        if (id == null) return Optional.empty();
        String n = id.toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(t -> t.id.equals(n)).findFirst();
    }

    /** "qwen2, qwen3, llama, mistral" for error messages. */
    public static String supportedList() {
        return Arrays.stream(values()).map(t -> t.id).collect(Collectors.joining(", "));
    }
}
