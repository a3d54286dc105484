package jlora.nn;

/**
 * One linear layer that carries a LoRA adapter, resolved against a model: the adapter adds
 * {@code scale * B(A(dropout(x)))} to {@code W x}, with A {@code [rank, inFeatures]} and
 * B {@code [outFeatures, rank]} (nn.Linear layout: [out, in]).
 *
 * @param layer decoder layer index
 * @param module the projection's name, one of WeightMap.LINEAR_MODULES (q_proj ... down_proj)
 * @param path the module's path in the Hugging Face model, e.g. model.layers.3.self_attn.q_proj
 * @param rank r for this module (rank_pattern may override the config's r)
 * @param alpha lora_alpha for this module (alpha_pattern may override it)
 * @param scale alpha / rank, or alpha / sqrt(rank) with rsLoRA
 */
public record LoraTarget(int layer, String module, String path, int inFeatures, int outFeatures,
                         int rank, double alpha, double scale) {
    /** Trainable parameters of A and B. */
    public long parameterCount() {
        return (long) rank * (inFeatures + outFeatures);
    }
}
