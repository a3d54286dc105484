package jlora.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Everything a `jlora train` run needs, parsed once: one record per YAML section. Built by
 * {@link ConfigLoader} from built-in defaults, a recipe, the user's YAML and command-line
 * overrides (later wins); {@link #toYaml()} writes the resolved form saved as
 * {@code config.resolved.yaml}, which loads back to an equal config.
 *
 * @param description one line saying what the config (recipe) trains
 * @param stages empty for a single-stage run; otherwise each stage runs in order with its
 *     overrides applied to the sections here (see {@link #stageConfigs()})
 */
public record TrainConfig(@Nullable String description, ModelSection model, QuantizationSection quantization, LoraSection lora,
                          DataSection data, TrainingSection training, OutputSection output, List<Stage> stages) {

    /** The file name the resolved config gets in a run dir. */
    public static final String RESOLVED_FILE = "config.resolved.yaml";

    public TrainConfig {
        if (stages != null) {
            // Unnamed stages are stage-1, stage-2 ...; the first starts from the base model and
            // later ones, unless told otherwise, continue the previous adapter.
            List<Stage> named = new ArrayList<>();
            for (int i = 0; i < stages.size(); i++) {
                Stage s = stages.get(i);
                String name = s.name() != null ? s.name() : "stage-" + (i + 1);
                Stage.StartFrom from = s.startFrom() != null ? s.startFrom()
                        : i == 0 ? Stage.StartFrom.BASE : Stage.StartFrom.ADAPTER;
                named.add(new Stage(name, from, s.overrides()));
            }
            stages = List.copyOf(named);
        }
    }

    /** Defaults that match what TRL SFTTrainer / PEFT users expect; each is documented on its record. */
    public static TrainConfig defaults() {
        return new TrainConfig(null, ModelSection.defaults(), QuantizationSection.defaults(), LoraSection.defaults(),
                DataSection.defaults(), TrainingSection.defaults(), OutputSection.defaults(), List.of());
    }

    /**
     * The entry point for the CLI: recipe (a built-in name, a YAML path, or null for the bare
     * defaults), then the user's YAML (or null), then the raw override arguments in order:
     * {@code --section.key value}, {@code --section.key=value}, a bare boolean
     * {@code --data.packing}, {@code null} to unset an optional key, comma lists, list indices
     * ({@code --stages.1.training.max_steps 30}), and the shortcuts {@code --model DIR},
     * {@code --data FILES}, {@code --device cpu}. Every problem is a {@link jlora.UserError}
     * naming the file and line (or the argument), the key, and the fix.
     */
    public static TrainConfig resolve(String recipe, Path userYaml, List<String> overrideArgs) {
        return ConfigLoader.load(recipe, userYaml, overrideArgs);
    }

    /** A run's config reloaded from its config.resolved.yaml (used by --resume and `jlora report`). */
    public static TrainConfig read(Path resolvedYaml) {
        return ConfigLoader.load(null, resolvedYaml, List.of());
    }

    /** The fully resolved config as YAML, every key written, in schema order. */
    public String toYaml() {
        return ConfigYaml.write(this);
    }

    /** QLoRA when the base is NF4, else LoRA: the {@code {method}} placeholder. */
    public String method() {
        return quantization.mode() == QuantizationSection.Mode.NF4 ? "qlora" : "lora";
    }

    /**
     * One single-stage config per stage, each the sections here with that stage's overrides
     * applied; this config alone when there are no stages.
     */
    public List<TrainConfig> stageConfigs() {
        if (stages.isEmpty()) return List.of(this);
        List<TrainConfig> out = new ArrayList<>();
        for (Stage s : stages) out.add(stageConfig(s));
        return out;
    }

    TrainConfig stageConfig(Stage s) {
        Map<String, Object> base = ConfigTree.toTree(this);
        base.remove("stages");
        Map<String, Object> merged = ConfigTree.merge(TrainConfig.class, base, ConfigTree.thawed(s.overrides()));
        return ConfigTree.fromTree(TrainConfig.class, merged, defaults());
    }
}
