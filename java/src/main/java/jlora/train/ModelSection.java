package jlora.train;

/**
 * {@code model:} which base model to fine-tune and how wide its sequences are.
 *
 * @param path the Hugging Face model directory, or {@code builtin:tiny} for the tiny model
 *     shipped in the jar; null in recipes, where {@code --model DIR} supplies it
 * @param tokenizer directory holding tokenizer.json; null means the model directory (as
 *     AutoTokenizer.from_pretrained(model) does)
 * @param dtype the dtype the base weights are computed in: {@code auto} is bf16 on CUDA and
 *     fp32 on the CPU reference backend (the seeds' {@code dtype=None} lets Unsloth pick bf16)
 * @param maxSeqLength tokens per training sequence; default 1024, TRL SFTConfig's
 *     {@code max_length}
 */
public record ModelSection(@Nullable String path, @Nullable String tokenizer, Precision dtype, int maxSeqLength) {

    /** A floating-point width for weights and math; {@code auto} resolves per device. */
    public enum Precision { AUTO, BF16, FP16, FP32 }

    static ModelSection defaults() {
        return new ModelSection(null, null, Precision.AUTO, 1024);
    }
}
