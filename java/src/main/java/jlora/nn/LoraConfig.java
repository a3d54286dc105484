package jlora.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import jlora.UserError;
import jlora.model.ModelConfig;

/**
 * A LoRA adapter's hyper-parameters, with the meaning PEFT's LoraConfig gives each field (the JSON
 * names are in the parameter docs). Invalid values throw {@link UserError} naming the field; the
 * caller that read them from a file adds the file's name.
 *
 * @param r rank ({@code r}), at least 1
 * @param loraAlpha {@code lora_alpha}; the update is scaled by alpha/r (alpha/sqrt(r) with rsLoRA)
 * @param loraDropout {@code lora_dropout}, in [0, 1): dropout on the LoRA input path only
 * @param targetModules {@code target_modules}: names, a regex, or all-linear
 * @param excludeModules {@code exclude_modules}: names or a regex never adapted; null for none
 * @param useRslora {@code use_rslora}: rank-stabilised scale alpha/sqrt(r) (Kalajdzievski 2023)
 * @param layersToTransform {@code layers_to_transform}: decoder layers to adapt; empty for all
 * @param layersPattern {@code layers_pattern}: the path segment before the layer index; empty
 *     means any segment (PEFT's rule), so "layers" and empty are the same for these models
 * @param bias {@code bias}: only "none" (biases stay frozen)
 * @param modulesToSave {@code modules_to_save}: modules trained in full and saved: norms, embed_tokens,
 *     an untied lm_head
 * @param trainableNorms also train every RMSNorm weight (saved as modules_to_save)
 * @param rankPattern {@code rank_pattern}: module-path regex → r, first match in order wins
 * @param alphaPattern {@code alpha_pattern}: module-path regex → alpha, likewise
 * @param seed seeds the initialisation of A; not part of PEFT's file
 */
public record LoraConfig(
        int r,
        double loraAlpha,
        double loraDropout,
        TargetModules targetModules,
        TargetModules excludeModules,
        boolean useRslora,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        String bias,
        List<String> modulesToSave,
        boolean trainableNorms,
        SequencedMap<String, Integer> rankPattern,
        SequencedMap<String, Double> alphaPattern,
        long seed) {

    /** PEFT's default target for llama and qwen2 (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
    public static final List<String> DEFAULT_TARGETS = List.of("q_proj", "v_proj");

    public LoraConfig {
        if (r < 1) throw invalid("r", "must be a positive integer (the LoRA rank, e.g. 8, 16 or 64), got " + r);
        if (!Double.isFinite(loraAlpha) || loraAlpha <= 0) {
            throw invalid("lora_alpha", "must be a positive number (often r or 2*r), got " + loraAlpha);
        }
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw invalid("lora_dropout", "must be in [0, 1) (e.g. 0.05), got " + loraDropout);
        }
        if (targetModules == null) throw invalid("target_modules", "is required");
        if (targetModules instanceof TargetModules.Names n) {
            if (n.names().isEmpty()) throw invalid("target_modules", "is an empty list; name at least one module, e.g. [\"q_proj\", \"v_proj\"], or use \"all-linear\"");
            for (String s : n.names()) {
                if (s == null || s.isBlank()) throw invalid("target_modules", "contains an empty name");
            }
        }
        if (excludeModules instanceof TargetModules.AllLinear) {
            throw invalid("exclude_modules", "cannot be \"all-linear\": that would exclude every adapted layer");
        }
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? List.of() : List.copyOf(layersPattern);
        for (int i : layersToTransform) {
            if (i < 0) throw invalid("layers_to_transform", "must hold layer indices >= 0, got " + i);
        }
        if (!layersToTransform.isEmpty() && targetModules instanceof TargetModules.Regex) {
            // PEFT's LoraConfig raises the same: the regex already decides the layers.
            throw invalid("layers_to_transform", "cannot be combined with a regex target_modules; put the layer"
                    + " indices into the regex or give target_modules as a list of names");
        }
        for (String p : layersPattern) checkPattern("layers_pattern", p);
        if (!layersPattern.isEmpty() && layersToTransform.isEmpty()) {
            throw invalid("layers_pattern", "is only used together with layers_to_transform; set that too or drop it");
        }
        if (bias == null) bias = "none";
        if (!bias.equals("none")) {
            throw invalid("bias", "is \"" + bias + "\"; jlora trains LoRA weights only and keeps biases frozen,"
                    + " so only \"none\" is supported");
        }
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        rankPattern = copy(rankPattern);
        alphaPattern = copy(alphaPattern);
        for (var e : rankPattern.entrySet()) {
            checkPattern("rank_pattern", e.getKey());
            if (e.getValue() == null || e.getValue() < 1) {
                throw invalid("rank_pattern", "maps '" + e.getKey() + "' to " + e.getValue() + "; ranks must be >= 1");
            }
        }
        for (var e : alphaPattern.entrySet()) {
            checkPattern("alpha_pattern", e.getKey());
            if (e.getValue() == null || !Double.isFinite(e.getValue()) || e.getValue() <= 0) {
                throw invalid("alpha_pattern", "maps '" + e.getKey() + "' to " + e.getValue() + "; alphas must be positive");
            }
        }
    }

    /** PEFT's defaults (r 8, alpha 8, no dropout) on q_proj and v_proj, seed 0. */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.r = r;
        b.loraAlpha = loraAlpha;
        b.loraDropout = loraDropout;
        b.targetModules = targetModules;
        b.excludeModules = excludeModules;
        b.useRslora = useRslora;
        b.layersToTransform = layersToTransform;
        b.layersPattern = layersPattern;
        b.bias = bias;
        b.modulesToSave = modulesToSave;
        b.trainableNorms = trainableNorms;
        b.rankPattern = rankPattern;
        b.alphaPattern = alphaPattern;
        b.seed = seed;
        return b;
    }

    /** The scale of the LoRA path: alpha/r, or alpha/sqrt(r) with rsLoRA (PEFT LoraLayer.update_layer). */
    public double scale() {
        return scale(loraAlpha, r, useRslora);
    }

    public static double scale(double alpha, int rank, boolean rslora) {
        return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * The linear layers this config adapts in {@code model}, in layer order and, within a layer,
     * in {@link jlora.model.WeightMap#LINEAR_MODULES} order. Throws a {@link UserError} when a name in
     * target_modules matches no linear layer (listing the valid names), when a layer index is out
     * of range, or when nothing at all is selected.
     */
    public List<LoraTarget> resolve(ModelConfig model) {
        ModelLayout layout = new ModelLayout(model);
        checkTargetNames(layout);
        for (int i : layersToTransform) {
            if (i >= model.numHiddenLayers()) {
                throw invalid("layers_to_transform", "names layer " + i + " but the model has "
                        + model.numHiddenLayers() + " layers (0.." + (model.numHiddenLayers() - 1) + ")");
            }
        }
        List<LoraTarget> out = new ArrayList<>();
        for (ModelLayout.Linear lin : layout.linears()) {
            if (!targetModules.matches(lin.path())) continue;
            if (excludeModules != null && excludeModules.matches(lin.path())) continue;
            // PEFT applies the layer filter only to suffix matches: a full path given by name always counts.
            boolean exact = targetModules instanceof TargetModules.Names n && n.names().contains(lin.path());
            if (!exact && !inSelectedLayer(lin.path())) continue;
            int rank = patternValue(rankPattern, lin.path(), r);
            double alpha = patternValue(alphaPattern, lin.path(), loraAlpha);
            out.add(new LoraTarget(lin.layer(), lin.module(), lin.path(), lin.in(), lin.out(),
                    rank, alpha, scale(alpha, rank, useRslora)));
        }
        if (targetModules instanceof TargetModules.Regex re && layout.lmHeadPath().matches(re.pattern())) {
            throw invalid("target_modules", "matches lm_head; LoRA on the output head is not supported, exclude it from the regex");
        }
        if (out.isEmpty()) {
            throw invalid("target_modules", describeTargets() + " selects no linear layer of this "
                    + model.modelType().id + " model" + (layersToTransform.isEmpty() ? "" : " in layers " + layersToTransform
                    + (layersPattern.isEmpty() ? "" : " (layers_pattern " + layersPattern + ")"))
                    + "; valid names: " + String.join(", ", ModelLayout.LINEAR_MODULES) + " or \"all-linear\"");
        }
        return out;
    }

    /**
     * The modules trained in full: every RMSNorm with trainableNorms, plus what modules_to_save
     * names (norms, embed_tokens, and lm_head when the model does not tie it to embed_tokens).
     */
    public List<SavedModule> resolveSaved(ModelConfig model) {
        ModelLayout layout = new ModelLayout(model);
        Set<SavedModule> out = new LinkedHashSet<>();
        for (String name : modulesToSave) {
            List<SavedModule> hit = layout.savable().stream()
                    .filter(m -> TargetModules.Names.matchesName(m.path(), name)).toList();
            if (hit.isEmpty()) {
                if (layout.tied() && TargetModules.Names.matchesName(layout.lmHeadPath(), name)) {
                    throw invalid("modules_to_save", "names '" + name + "', but this model ties lm_head to embed_tokens"
                            + " (tie_word_embeddings): they are one table; name embed_tokens to train it");
                }
                boolean other = layout.otherModules().stream().anyMatch(p -> TargetModules.Names.matchesName(p, name));
                throw invalid("modules_to_save", "names '" + name + "', which "
                        + (other ? "jlora cannot train in full (it can: " : "matches no module of this model (modules it can train in full: ")
                        + String.join(", ", layout.savableNames()) + ")");
            }
            out.addAll(hit);
        }
        if (trainableNorms) out.addAll(layout.norms());
        return layout.savable().stream().filter(out::contains).toList();
    }

    private void checkTargetNames(ModelLayout layout) {
        if (!(targetModules instanceof TargetModules.Names n)) return;
        List<String> unknown = new ArrayList<>();
        for (String name : n.names()) {
            boolean linear = layout.linears().stream().anyMatch(l -> TargetModules.Names.matchesName(l.path(), name));
            if (linear) continue;
            if (TargetModules.Names.matchesName(layout.lmHeadPath(), name)
                    || TargetModules.Names.matchesName("model.embed_tokens", name)) {
                throw invalid("target_modules", "names '" + name + "'; LoRA on the embedding or the output head is"
                        + " not supported, adapt the decoder's linear layers (" + String.join(", ", ModelLayout.LINEAR_MODULES)
                        + ") and train the embedding in full with modules_to_save: [embed_tokens]");
            }
            unknown.add(name);
        }
        if (!unknown.isEmpty()) {
            throw invalid("target_modules", "has " + (unknown.size() == 1 ? "a name that matches" : "names that match") + " no linear layer: "
                    + String.join(", ", unknown) + "; valid names: " + String.join(", ", ModelLayout.LINEAR_MODULES)
                    + " (or a path suffix such as self_attn.q_proj), or \"all-linear\"");
        }
    }

    /** PEFT's layer filter: the number after "{pattern}." (any segment when no pattern) in the path. */
    private boolean inSelectedLayer(String path) {
        if (layersToTransform.isEmpty()) return true;
        List<Pattern> patterns = layersPattern.isEmpty()
                ? List.of(Pattern.compile(".*\\.[^.]*\\.(\\d+)\\."))
                : layersPattern.stream().map(p -> Pattern.compile(".*\\." + p + "\\.(\\d+)\\.")).toList();
        for (Pattern p : patterns) {
            Matcher m = p.matcher(path);
            if (m.lookingAt()) return layersToTransform.contains(Integer.parseInt(m.group(1)));
        }
        return false;
    }

    /** PEFT get_pattern_key: the first key K (in order) with re.match(r"(.*\.)?(K)$", path). */
    static <T> T patternValue(Map<String, T> patterns, String path, T fallback) {
        for (var e : patterns.entrySet()) {
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")").matcher(path).matches()) return e.getValue();
        }
        return fallback;
    }

    private String describeTargets() {
        return switch (targetModules) {
            case TargetModules.Names n -> n.names().toString();
            case TargetModules.Regex re -> "the regex '" + re.pattern() + "'";
            case TargetModules.AllLinear a -> "\"all-linear\"";
        };
    }

    private static void checkPattern(String field, String key) {
        try {
            Pattern.compile(key);
        } catch (PatternSyntaxException e) {
            throw invalid(field, "key '" + key + "' is not a valid regular expression (" + e.getDescription() + ")");
        }
    }

    private static <T> SequencedMap<String, T> copy(Map<String, T> m) {
        return java.util.Collections.unmodifiableSequencedMap(m == null ? new LinkedHashMap<>() : new LinkedHashMap<>(m));
    }

    static UserError invalid(String field, String problem) {
        return new UserError("LoRA config: field '" + field + "' " + problem);
    }

    /** Fluent construction with PEFT's defaults. */
    public static final class Builder {
        private int r = 8;
        private double loraAlpha = 8;
        private double loraDropout = 0;
        private TargetModules targetModules = new TargetModules.Names(DEFAULT_TARGETS);
        private TargetModules excludeModules;
        private boolean useRslora;
        private List<Integer> layersToTransform = List.of();
        private List<String> layersPattern = List.of();
        private String bias = "none";
        private List<String> modulesToSave = List.of();
        private boolean trainableNorms;
        private SequencedMap<String, Integer> rankPattern = new LinkedHashMap<>();
        private SequencedMap<String, Double> alphaPattern = new LinkedHashMap<>();
        private long seed;

        public Builder r(int v) { r = v; return this; }
        public Builder loraAlpha(double v) { loraAlpha = v; return this; }
        public Builder loraDropout(double v) { loraDropout = v; return this; }
        public Builder targetModules(List<String> names) { targetModules = TargetModules.of(names); return this; }
        /** "all-linear" or a regex, as PEFT reads a string. */
        public Builder targetModules(String text) { targetModules = TargetModules.of(text); return this; }
        public Builder targetModules(TargetModules t) { targetModules = t; return this; }
        public Builder excludeModules(TargetModules t) { excludeModules = t; return this; }
        public Builder useRslora(boolean v) { useRslora = v; return this; }
        public Builder layersToTransform(List<Integer> v) { layersToTransform = v; return this; }
        public Builder layersPattern(List<String> v) { layersPattern = v; return this; }
        public Builder bias(String v) { bias = v; return this; }
        public Builder modulesToSave(List<String> v) { modulesToSave = v; return this; }
        public Builder trainableNorms(boolean v) { trainableNorms = v; return this; }
        public Builder rankPattern(SequencedMap<String, Integer> v) { rankPattern = v; return this; }
        public Builder alphaPattern(SequencedMap<String, Double> v) { alphaPattern = v; return this; }
        public Builder seed(long v) { seed = v; return this; }

        public LoraConfig build() {
            return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, useRslora, layersToTransform,
                    layersPattern, bias, modulesToSave, trainableNorms, rankPattern, alphaPattern, seed);
        }
    }
}
