package jlora.train;

import java.util.List;

/**
 * {@code lora:} the adapter. Defaults are PEFT LoraConfig's, so an adapter_config.json written
 * from them reads the same as one PEFT would write.
 *
 * @param r rank of A (r x in) and B (out x r); PEFT default 8
 * @param alpha the scale numerator: the update is (alpha / r) B A, or alpha / sqrt(r) with
 *     rsLoRA; PEFT default 8
 * @param dropout dropout on the LoRA input path only; PEFT default 0.0
 * @param targetModules module names to adapt (q_proj, k_proj, v_proj, o_proj, gate_proj,
 *     up_proj, down_proj), or the single entry {@code all-linear} (every linear layer of the
 *     decoder but lm_head, as PEFT reads it); default [q_proj, v_proj], PEFT's built-in choice
 *     for llama and qwen2
 * @param useRslora scale by alpha / sqrt(r) (rank-stabilised LoRA) instead of alpha / r
 * @param layersToTransform decoder layer indices to adapt; null adapts every layer
 * @param modulesToSave modules trained in full and saved beside the adapter (PEFT
 *     {@code modules_to_save}): RMSNorm names, embed_tokens, and lm_head when the model does not
 *     tie it (with tied embeddings embed_tokens is the head too: one table, both gradients);
 *     their lr is training.embedding_learning_rate when set; default none
 * @param trainNorms also train the RMSNorm weights (saved as modules_to_save); default false
 * @param initSeed seed for the Kaiming-uniform init of A (Unsloth's {@code random_state});
 *     null means training.seed
 * @param bias which biases train; only {@code none} (PEFT's default) is implemented
 */
public record LoraSection(int r, int alpha, double dropout, List<String> targetModules, boolean useRslora,
                          @Nullable List<Integer> layersToTransform, List<String> modulesToSave, boolean trainNorms,
                          @Nullable Integer initSeed, Bias bias) {

    /** PEFT's name for "adapt every linear layer but the output head". */
    public static final String ALL_LINEAR = "all-linear";

    /** PEFT's bias setting; "all" and "lora_only" change the base model and are not offered. */
    public enum Bias { NONE }

    public LoraSection {
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
    }

    /** alpha / r, or alpha / sqrt(r) with rsLoRA: PEFT's {@code scaling}. */
    public double scale() {
        return useRslora ? alpha / Math.sqrt(r) : (double) alpha / r;
    }

    static LoraSection defaults() {
        return new LoraSection(8, 8, 0.0, List.of("q_proj", "v_proj"), false, null, List.of(), false, null,
                Bias.NONE);
    }
}
