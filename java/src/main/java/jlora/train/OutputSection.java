package jlora.train;

import java.util.List;

/**
 * {@code output:} where a run writes. The run dir is {@code dir/run_name}; inside it the
 * resolved config, metrics.jsonl, plots, TensorBoard events, checkpoints/ and the adapter.
 * adapter_dir and merged_dir are relative to the run dir and may use the placeholders
 * {@code {model}} (base model dir name), {@code {epochs}}, {@code {method}} (lora or qlora)
 * and {@code {stage}}, to reproduce the seeds' layouts
 * (e.g. {@code {model}/{epochs}/{method}_adapters}).
 *
 * @param dir parent of run dirs; default {@code runs}
 * @param runName null = the recipe (or "run") plus a UTC timestamp; placeholders allowed
 * @param adapterDir the final PEFT adapter and tokenizer files; default {@code final} (the
 *     layout of the 14B seed and of TRL's {@code trainer.save_model(output_dir/final)})
 * @param mergedDir when set, the adapter is also merged into the base and written there as
 *     HF safetensors; null = no merge
 * @param tensorboard write TensorBoard event files under {@code tensorboard/}; default true
 * @param plots draw loss and learning-rate PNGs at the end; default true
 */
public record OutputSection(String dir, @Nullable String runName, String adapterDir, @Nullable String mergedDir,
                            boolean tensorboard, boolean plots) {

    /** The placeholders adapter_dir, merged_dir and run_name may contain. */
    public static final List<String> PLACEHOLDERS = List.of("{model}", "{epochs}", "{method}", "{stage}");

    static OutputSection defaults() {
        return new OutputSection("runs", null, "final", null, true, true);
    }
}
