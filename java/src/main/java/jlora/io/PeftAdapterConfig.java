package jlora.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeMap;
import jlora.UserError;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import jlora.nn.SavedModule;
import jlora.nn.TargetModules;

/**
 * PEFT's {@code adapter_config.json} for a LoRA adapter: reading what PEFT writes (0.6 through
 * 0.18 field sets) and writing what PEFT's loaders expect.
 *
 * <p>Written fields are those PEFT 0.13's LoraConfig serialises (its dataclass fields, keys sorted,
 * indent 2, as PeftConfigMixin.save_pretrained does); later PEFT versions fill in their newer
 * fields with defaults, and newer fields we could have written are ones an older PEFT would drop
 * with a warning (peft.config._check_and_remove_unused_kwargs), so leaving them out loses nothing.
 *
 * @param lora the LoRA hyper-parameters
 * @param baseModelNameOrPath {@code base_model_name_or_path}; null if absent
 * @param revision {@code revision} of the base model; null if absent
 * @param ensureWeightTying {@code ensure_weight_tying} (PEFT >= 0.18): a trained embed_tokens of a
 *     tied model also serves as lm_head; without it PEFT unties the two
 */
public record PeftAdapterConfig(LoraConfig lora, String baseModelNameOrPath, String revision, boolean ensureWeightTying) {
    public PeftAdapterConfig(LoraConfig lora, String baseModelNameOrPath, String revision) {
        this(lora, baseModelNameOrPath, revision, false);
    }

    public static final String FILE_NAME = "adapter_config.json";
    static final long MAX_BYTES = 16L << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** init_lora_weights values whose adapter only works on base weights PEFT modified at init time. */
    private static final List<String> BASE_CHANGING_INITS = List.of("pissa", "olora", "corda", "loftq");

    // ---------------------------------------------------------------- writing

    /**
     * The JSON text for {@code pairs} (the adapted layers, which fix the module names written for
     * "all-linear": PEFT saves the expanded list) and {@code savedPaths} (module paths of the modules
     * trained in full).
     */
    public String toJson(List<LoraPair> pairs, List<String> savedPaths) {
        LoraConfig c = lora;
        JsonNodeFactory f = JsonNodeFactory.instance;
        Map<String, JsonNode> m = new TreeMap<>(); // PEFT writes json.dumps(..., sort_keys=True)
        m.put("alpha_pattern", numberMap(c.alphaPattern()));
        m.put("auto_mapping", f.nullNode());
        m.put("base_model_name_or_path", baseModelNameOrPath == null ? f.nullNode() : f.textNode(baseModelNameOrPath));
        m.put("bias", f.textNode(c.bias()));
        // PEFT >= 0.18: with a trained embed_tokens, also wrap a tied lm_head so it keeps sharing the
        // trained table, which is how jlora computes (one table); without it PEFT unties the two.
        if (savedPaths.contains("model.embed_tokens")) m.put("ensure_weight_tying", f.booleanNode(true));
        if (c.excludeModules() != null) m.put("exclude_modules", targets(c.excludeModules(), pairs));
        m.put("fan_in_fan_out", f.booleanNode(false));
        m.put("inference_mode", f.booleanNode(true));
        m.put("init_lora_weights", f.booleanNode(true));
        m.put("layer_replication", f.nullNode());
        m.put("layers_pattern", c.layersPattern().isEmpty() ? f.nullNode()
                : c.layersPattern().size() == 1 ? f.textNode(c.layersPattern().getFirst()) : strings(c.layersPattern()));
        if (c.layersToTransform().isEmpty()) {
            m.put("layers_to_transform", f.nullNode());
        } else {
            ArrayNode a = f.arrayNode();
            c.layersToTransform().forEach(a::add);
            m.put("layers_to_transform", a);
        }
        m.put("loftq_config", f.objectNode());
        m.put("lora_alpha", number(c.loraAlpha()));
        m.put("lora_dropout", f.numberNode(c.loraDropout()));
        m.put("megatron_config", f.nullNode());
        m.put("megatron_core", f.textNode("megatron.core"));
        List<String> toSave = new ArrayList<>(c.modulesToSave());
        for (String path : savedPaths) {
            if (!toSave.contains(SavedModule.peftName(path))) toSave.add(SavedModule.peftName(path));
        }
        m.put("modules_to_save", toSave.isEmpty() ? f.nullNode() : strings(toSave));
        m.put("peft_type", f.textNode("LORA"));
        m.put("r", f.numberNode(c.r()));
        ObjectNode ranks = f.objectNode();
        c.rankPattern().forEach(ranks::put);
        m.put("rank_pattern", ranks);
        m.put("revision", revision == null ? f.nullNode() : f.textNode(revision));
        m.put("target_modules", targets(c.targetModules(), pairs));
        m.put("task_type", f.textNode("CAUSAL_LM"));
        m.put("use_dora", f.booleanNode(false));
        m.put("use_rslora", f.booleanNode(c.useRslora()));
        ObjectNode root = f.objectNode();
        m.forEach(root::set);
        try {
            // Python's json.dumps(indent=2) writes `"key": value` and one list element per line.
            var indent = new DefaultIndenter("  ", "\n");
            var printer = new DefaultPrettyPrinter().withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
            printer.indentObjectsWith(indent);
            printer.indentArraysWith(indent);
            return JSON.writer(printer).writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode targets(TargetModules t, List<LoraPair> pairs) {
        return switch (t) {
            case TargetModules.Names n -> strings(n.names());
            case TargetModules.Regex r -> JsonNodeFactory.instance.textNode(r.pattern());
            // PEFT replaces "all-linear" by the set of linear module names before saving.
            case TargetModules.AllLinear a -> strings(pairs.stream().map(p -> p.target().module()).distinct().toList());
        };
    }

    private static ArrayNode strings(List<String> values) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        values.forEach(a::add);
        return a;
    }

    /** PEFT types lora_alpha as int: write 16 rather than 16.0 when it is whole. */
    private static JsonNode number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? JsonNodeFactory.instance.numberNode((long) v)
                : JsonNodeFactory.instance.numberNode(v);
    }

    private static ObjectNode numberMap(Map<String, Double> m) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        m.forEach((k, v) -> o.set(k, number(v)));
        return o;
    }

    // ---------------------------------------------------------------- reading

    /** Parses the text of an adapter_config.json; {@code file} is named in every error. */
    public static PeftAdapterConfig parse(byte[] json, Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            String where = e instanceof JsonProcessingException j && j.getLocation() != null
                    ? " line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() : "";
            throw new UserError(file + ":" + where + ": not valid JSON (" + firstLine(why) + "); fix the file or save the adapter again", e);
        }
        if (root == null || !root.isObject()) {
            throw new UserError(file + ": must hold a JSON object (a PEFT adapter config)");
        }
        Fields f = new Fields(root, file);
        String peftType = f.string("peft_type", null);
        if (peftType == null) {
            throw f.invalid("peft_type", "is missing; this is not a PEFT adapter config (PEFT writes \"peft_type\": \"LORA\")");
        }
        if (!peftType.equals("LORA")) {
            throw f.invalid("peft_type", "is \"" + peftType + "\"; jlora loads LoRA adapters only (peft_type \"LORA\")");
        }
        String task = f.string("task_type", null);
        if (task != null && !task.equals("CAUSAL_LM")) {
            throw f.invalid("task_type", "is \"" + task + "\"; jlora runs causal language models (task_type \"CAUSAL_LM\")");
        }
        refuseUnsupported(f);

        LoraConfig.Builder b = LoraConfig.builder();
        try {
            b.r(f.requiredInt("r"));
            b.loraAlpha(f.number("lora_alpha", 8));
            b.loraDropout(f.number("lora_dropout", 0));
            TargetModules targets = f.targetModules("target_modules");
            if (targets != null) b.targetModules(targets); // absent: PEFT's per-architecture default, q_proj + v_proj
            b.excludeModules(f.targetModules("exclude_modules"));
            b.useRslora(f.bool("use_rslora", false));
            b.layersToTransform(f.intOrIntList("layers_to_transform"));
            b.layersPattern(f.stringOrStringList("layers_pattern"));
            b.bias(f.string("bias", "none"));
            b.modulesToSave(f.stringOrStringList("modules_to_save"));
            b.rankPattern(f.intMap("rank_pattern"));
            b.alphaPattern(f.numberMap("alpha_pattern"));
            return new PeftAdapterConfig(b.build(), f.string("base_model_name_or_path", null), f.string("revision", null),
                    f.bool("ensure_weight_tying", false));
        } catch (UserError e) {
            throw inFile(e, file);
        }
    }

    /** Re-throws a LoraConfig validation error with the file's name in front. */
    static UserError inFile(UserError e, Path file) {
        String m = e.getMessage();
        if (!m.startsWith("LoRA config: ")) return e; // already names the file
        return new UserError(file + ": " + m.substring("LoRA config: ".length()), e);
    }

    /** Fields that change what the tensors mean or need modules jlora does not have. */
    private static void refuseUnsupported(Fields f) {
        if (f.bool("use_dora", false)) {
            throw f.invalid("use_dora", "is true; DoRA adapters (with lora_magnitude_vector) are not supported, only plain LoRA");
        }
        if (f.bool("lora_bias", false)) {
            throw f.invalid("lora_bias", "is true; LoRA with a bias on lora_B is not supported");
        }
        if (f.bool("use_qalora", false)) {
            throw f.invalid("use_qalora", "is true; QA-LoRA adapters are not supported");
        }
        for (String k : List.of("layer_replication", "alora_invocation_tokens", "target_parameters", "trainable_token_indices")) {
            JsonNode v = f.get(k);
            if (v != null && !v.isNull() && !(v.isContainerNode() && v.isEmpty())) {
                throw f.invalid(k, "is set (" + abbreviate(v.toString()) + "); jlora does not support this PEFT feature."
                        + " Remove it only if the adapter was trained without it");
            }
        }
        JsonNode init = f.get("init_lora_weights");
        if (init != null && init.isTextual()) {
            String s = init.textValue().toLowerCase(Locale.ROOT);
            for (String bad : BASE_CHANGING_INITS) {
                if (s.startsWith(bad)) {
                    throw f.invalid("init_lora_weights", "is \"" + init.textValue() + "\": such an adapter only works on the"
                            + " base weights PEFT changed when it initialised it. Convert it to a plain LoRA adapter in PEFT"
                            + " (save_pretrained(..., path_initial_model_for_weight_conversion=...)) and load that");
                }
            }
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown problem";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** Typed access to the top-level fields; a JSON null counts as absent, as for PEFT's dataclass. */
    private record Fields(JsonNode node, Path file) {
        JsonNode get(String name) {
            return node.get(name);
        }

        boolean has(String name) {
            JsonNode v = node.get(name);
            return v != null && !v.isNull();
        }

        UserError invalid(String name, String problem) {
            return new UserError(file + ": field '" + name + "' " + problem);
        }

        UserError wrongType(String name, String expected) {
            return invalid(name, "must be " + expected + ", found " + abbreviate(node.get(name).toString()));
        }

        String string(String name, String fallback) {
            if (!has(name)) return fallback;
            if (!node.get(name).isTextual()) throw wrongType(name, "a string");
            return node.get(name).textValue();
        }

        boolean bool(String name, boolean fallback) {
            if (!has(name)) return fallback;
            if (!node.get(name).isBoolean()) throw wrongType(name, "true or false");
            return node.get(name).booleanValue();
        }

        int requiredInt(String name) {
            if (!has(name)) throw invalid(name, "is missing; PEFT writes the LoRA rank there");
            return toInt(name, node.get(name));
        }

        double number(String name, double fallback) {
            if (!has(name)) return fallback;
            if (!node.get(name).isNumber()) throw wrongType(name, "a number");
            return node.get(name).doubleValue();
        }

        private int toInt(String name, JsonNode v) {
            // Python's json writes ints as ints; 8.0 also means 8 to PEFT's arithmetic.
            if (!v.isNumber() || v.doubleValue() != Math.rint(v.doubleValue()) || !v.canConvertToInt()) {
                throw wrongType(name, "an integer");
            }
            return v.intValue();
        }

        /** A list of strings, a string (regex or "all-linear"), or absent. */
        TargetModules targetModules(String name) {
            if (!has(name)) return null;
            JsonNode v = node.get(name);
            if (v.isTextual()) return TargetModules.of(v.textValue());
            if (!v.isArray()) throw wrongType(name, "a list of module names or a regex string");
            List<String> out = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isTextual()) throw wrongType(name, "a list of module names or a regex string");
                out.add(e.textValue());
            }
            return TargetModules.of(out);
        }

        List<Integer> intOrIntList(String name) {
            List<Integer> out = new ArrayList<>();
            if (!has(name)) return out;
            JsonNode v = node.get(name);
            if (v.isArray()) {
                for (JsonNode e : v) out.add(toInt(name, e));
            } else {
                out.add(toInt(name, v));
            }
            return out;
        }

        List<String> stringOrStringList(String name) {
            List<String> out = new ArrayList<>();
            if (!has(name)) return out;
            JsonNode v = node.get(name);
            if (v.isTextual()) return List.of(v.textValue());
            if (!v.isArray()) throw wrongType(name, "a string or a list of strings");
            for (JsonNode e : v) {
                if (!e.isTextual()) throw wrongType(name, "a string or a list of strings");
                out.add(e.textValue());
            }
            return out;
        }

        SequencedMap<String, Integer> intMap(String name) {
            SequencedMap<String, Integer> out = new LinkedHashMap<>();
            if (!has(name)) return out;
            JsonNode v = node.get(name);
            if (!v.isObject()) throw wrongType(name, "an object mapping module patterns to ranks");
            for (var e : v.properties()) out.put(e.getKey(), toInt(name, e.getValue()));
            return out;
        }

        SequencedMap<String, Double> numberMap(String name) {
            SequencedMap<String, Double> out = new LinkedHashMap<>();
            if (!has(name)) return out;
            JsonNode v = node.get(name);
            if (!v.isObject()) throw wrongType(name, "an object mapping module patterns to alphas");
            for (var e : v.properties()) {
                if (!e.getValue().isNumber()) throw wrongType(name, "an object mapping module patterns to numbers");
                out.put(e.getKey(), e.getValue().doubleValue());
            }
            return out;
        }
    }
}
