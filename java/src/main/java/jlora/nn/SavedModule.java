package jlora.nn;

import jlora.tensor.Shape;

/**
 * A module trained in full beside the adapters and saved with them (PEFT's modules_to_save): the
 * RMSNorm weights (also the "trainable norms" option), the token embedding, and an untied output
 * head. With tied embeddings the embedding's table is the head too, so training it trains both.
 *
 * @param path module path, e.g. model.layers.0.input_layernorm, model.norm, model.embed_tokens, lm_head
 * @param shape of its weight
 */
public record SavedModule(String path, Shape shape) {
    /** The Hugging Face parameter name of the weight. */
    public String weightName() {
        return path + ".weight";
    }

    /**
     * The modules_to_save entry that selects this module in PEFT: its last path segment, except
     * "model.norm" for the final norm, because older PEFT matched modules_to_save with a bare
     * endswith, under which "norm" would also catch every input_layernorm.
     */
    public String peftName() {
        return peftName(path);
    }

    public static String peftName(String path) {
        return path.equals("model.norm") ? path : path.substring(path.lastIndexOf('.') + 1);
    }
}
