package jlora.nn;

import jlora.tensor.Shape;

/**
 * A module trained in full beside the adapters and saved with them (PEFT's modules_to_save); jlora
 * allows the RMSNorm weights only, the "trainable norms" option.
 *
 * @param path module path, e.g. model.layers.0.input_layernorm or model.norm
 * @param shape of its weight
 */
public record SavedModule(String path, Shape shape) {
    /** The Hugging Face parameter name of the weight. */
    public String weightName() {
        return path + ".weight";
    }
}
