package jlora.model;

import java.util.List;
import java.util.Locale;

import jlora.UserError;

/**
 * Turns the fields of a config.json into a {@link ModelConfig}: applies each family's
 * transformers defaults, derives head_dim, biases and sliding-window layers, and checks that
 * the numbers make a model (positive sizes, heads divisible by kv heads, even head_dim).
 */
final class ConfigParser {
    private ConfigParser() {
    }

    static ModelConfig parse(ConfigFields f, ModelType type) {
        List<String> archs = f.optionalStringList("architectures");
        String architecture = archs.isEmpty() ? type.defaultArchitecture : archs.getFirst();

        int hidden = positive(f, "hidden_size", f.requiredInt("hidden_size"));
        int intermediate = positive(f, "intermediate_size", f.requiredInt("intermediate_size"));
        int layers = positive(f, "num_hidden_layers", f.requiredInt("num_hidden_layers"));
        int heads = positive(f, "num_attention_heads", f.requiredInt("num_attention_heads"));
        int kvHeads = positive(f, "num_key_value_heads", f.optionalInt("num_key_value_heads", heads));
        int vocab = positive(f, "vocab_size", f.requiredInt("vocab_size"));
        if (heads % kvHeads != 0) {
            throw f.invalid("num_key_value_heads", "is " + kvHeads + " but must divide num_attention_heads ("
                    + heads + ") for grouped-query attention");
        }
        int headDim = headDim(f, type, hidden, heads);

        int maxPos = positive(f, "max_position_embeddings",
                f.optionalInt("max_position_embeddings", type.defaultMaxPositionEmbeddings));
        double eps = f.optionalDouble("rms_norm_eps", 1e-6);
        if (!(eps > 0)) throw f.invalid("rms_norm_eps", "is " + eps + " but must be positive");

        // transformers 5 moves rope_theta and the scaling into rope_parameters; read either.
        ConfigFields ropeParams = f.optionalObject("rope_parameters");
        double theta = ropeParams != null && ropeParams.has("rope_theta")
                ? ropeParams.requiredDouble("rope_theta")
                : f.optionalDouble("rope_theta", 10000.0);
        if (!(theta > 1)) throw f.invalid("rope_theta", "is " + theta + " but must be greater than 1");
        ConfigFields scalingFields = f.optionalObject("rope_scaling");
        if (scalingFields == null && ropeParams != null
                && (ropeParams.has("rope_type") || ropeParams.has("type"))) {
            scalingFields = ropeParams;
        }
        RopeScaling scaling = scalingFields == null ? RopeScaling.none(maxPos) : RopeScaling.parse(scalingFields, maxPos);

        double partialRotary = f.optionalDouble("partial_rotary_factor", 1.0);
        if (partialRotary != 1.0) {
            throw f.invalid("partial_rotary_factor", "is " + partialRotary + "; jlora rotates the whole head (1.0) only");
        }

        String act = f.optionalString("hidden_act", "silu");
        // transformers' ACT2FN maps "swish" to the same SiLU module.
        if (!act.equals("silu") && !act.equals("swish")) {
            throw f.invalid("hidden_act", "is '" + act + "'; jlora implements the SwiGLU MLP with silu only");
        }

        // Qwen2 always has q/k/v bias and no o bias; Llama and Qwen3 put attention_bias on all
        // four projections; MistralAttention hard-codes bias=False and ignores the field.
        boolean attentionBias = f.optionalBoolean("attention_bias", false)
                && (type == ModelType.LLAMA || type == ModelType.QWEN3);
        boolean qkvBias = type == ModelType.QWEN2 || attentionBias;
        boolean oBias = attentionBias;
        boolean mlpBias = type == ModelType.LLAMA && f.optionalBoolean("mlp_bias", false);
        if (type != ModelType.LLAMA && f.optionalBoolean("mlp_bias", false)) {
            throw f.invalid("mlp_bias", "is true, but " + type.id + " models have no MLP bias in transformers");
        }

        Window window = slidingWindow(f, type, layers);

        String dtype = f.optionalString("torch_dtype", f.optionalString("dtype", null));
        List<Integer> bos = f.intOrIntList("bos_token_id");
        List<Integer> pads = f.intOrIntList("pad_token_id");
        ConfigFields quant = f.optionalObject("quantization_config");
        String quantMethod = quant == null ? null : quant.optionalString("quant_method", "unknown");

        return new ModelConfig(f.file(), type, architecture, hidden, intermediate, layers, heads, kvHeads, headDim,
                vocab, maxPos, eps, theta, scaling, f.optionalBoolean("tie_word_embeddings", false),
                qkvBias, oBias, mlpBias, type == ModelType.QWEN3, window.size(), window.firstLayer(),
                act.toLowerCase(Locale.ROOT), dtype, bos.isEmpty() ? null : bos.getFirst(),
                f.intOrIntList("eos_token_id"), pads.isEmpty() ? null : pads.getFirst(), quantMethod);
    }

    private static int headDim(ConfigFields f, ModelType type, int hidden, int heads) {
        if (f.has("head_dim")) return evenHeadDim(f, f.requiredInt("head_dim"));
        if (type == ModelType.QWEN3) return 128; // Qwen3Config's default
        if (hidden % heads != 0) {
            throw f.invalid("hidden_size", "(" + hidden + ") is not a multiple of num_attention_heads (" + heads
                    + ") and config.json gives no head_dim");
        }
        return evenHeadDim(f, hidden / heads);
    }

    private static int evenHeadDim(ConfigFields f, int headDim) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw f.invalid("head_dim", "is " + headDim + " but RoPE needs a positive, even head dimension");
        }
        return headDim;
    }

    private record Window(int size, int firstLayer) {
    }

    /**
     * The window size and the first layer that uses it. Mistral: sliding_window on every layer unless null (absent
     * means MistralConfig's 4096). Qwen2/Qwen3: only with use_sliding_window, on layers
     * >= max_window_layers. An explicit layer_types list (transformers >= 4.53) wins.
     */
    private static Window slidingWindow(ConfigFields f, ModelType type, int layers) {
        int window;
        if (f.isExplicitNull("sliding_window")) window = 0;
        else window = f.optionalInt("sliding_window", type.defaultSlidingWindow);
        if (window < 0) throw f.invalid("sliding_window", "is " + window + " but must be >= 0 or null");
        int first = switch (type) {
            case LLAMA -> layers;
            case MISTRAL -> 0;
            case QWEN2, QWEN3 -> f.optionalBoolean("use_sliding_window", false)
                    ? f.optionalInt("max_window_layers", type.defaultMaxWindowLayers) : layers;
        };
        List<String> layerTypes = f.optionalStringList("layer_types");
        if (!layerTypes.isEmpty()) {
            if (layerTypes.size() != layers) {
                throw f.invalid("layer_types", "has " + layerTypes.size() + " entries but num_hidden_layers is " + layers);
            }
            first = layers;
            for (int i = 0; i < layers; i++) {
                String lt = layerTypes.get(i);
                boolean sliding = lt.equals("sliding_attention");
                if (!sliding && !lt.equals("full_attention")) {
                    throw f.invalid("layer_types", "entry " + i + " is '" + lt
                            + "'; expected full_attention or sliding_attention");
                }
                if (sliding && first == layers) first = i;
                if (!sliding && first < layers) {
                    throw new UserError(f.file() + ": field 'layer_types' mixes sliding and full layers in an order"
                            + " jlora does not support (full layers must all come first)");
                }
            }
        }
        if (window == 0 || first >= layers) return new Window(0, layers);
        return new Window(window, Math.max(first, 0));
    }

    private static int positive(ConfigFields f, String name, int value) {
        if (value <= 0) throw f.invalid(name, "is " + value + " but must be positive");
        return value;
    }
}
