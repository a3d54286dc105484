package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * toYaml() is the run dir's config.resolved.yaml: loading it back must give an equal config.
 * Checked for the defaults, every recipe, and random valid override sets (the value read back
 * is compared with the value the test parsed itself from the text it passed).
 */
class ConfigRoundTripTest {
    private static final List<String> MODULES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
            "up_proj", "down_proj");
    /** Strings that YAML would read as something else, or that need quoting, or are not ASCII. */
    private static final List<String> TRICKY = List.of("yes", "no", "2e-4", "123", "a: b", "x # y", "한국어 프롬프트",
            "'quoted'", "\"dq\"", " lead", "tail ", "- dash", "[not, a, list]", "null-ish", "true story", "~tilde");

    @TempDir
    Path dir;

    private TrainConfig reload(TrainConfig c, String label) throws IOException {
        Path p = dir.resolve(TrainConfig.RESOLVED_FILE);
        Files.writeString(p, c.toYaml());
        try {
            TrainConfig back = TrainConfig.read(p);
            String diff = firstDifference(ConfigTree.toTree(c), ConfigTree.toTree(back), "");
            if (diff != null) throw new AssertionError(label + ": round trip changed " + diff);
            return back;
        } catch (UserError e) {
            throw new AssertionError(label + ": the written YAML does not load: " + e.getMessage() + "\n" + c.toYaml(), e);
        }
    }

    /** The first key whose value differs, with both values, or null when the trees are equal. */
    @SuppressWarnings("unchecked")
    private static String firstDifference(Map<String, Object> a, Map<String, Object> b, String prefix) {
        Set<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        for (String k : keys) {
            Object x = a.get(k);
            Object y = b.get(k);
            String path = prefix.isEmpty() ? k : prefix + "." + k;
            if (x instanceof Map<?, ?> mx && y instanceof Map<?, ?> my) {
                String d = firstDifference((Map<String, Object>) mx, (Map<String, Object>) my, path);
                if (d != null) return d;
            } else if (!java.util.Objects.equals(x, y)) {
                return "'" + path + "': written " + x + ", read back " + y;
            }
        }
        return null;
    }

    @Test
    void stageOverridesRoundTrip() throws IOException {
        TrainConfig c = TrainConfig.resolve("r1-distill-qwen-32b-reasoning", null, List.of(
                "--stages.0.data.files", "med.jsonl", "--stages.1.training.learning_rate", "5e-5",
                "--stages.1.lora.target_modules", "q_proj,v_proj", "--stages.1.start_from", "adapter"));
        TrainConfig back = reload(c, "stages");
        assertEquals(c, back);
        assertEquals(5e-5, back.stageConfigs().get(1).training().learningRate());
        assertEquals(Stage.StartFrom.ADAPTER, back.stages().get(1).startFrom());
        assertEquals(List.of("q_proj", "v_proj"), back.stageConfigs().get(1).lora().targetModules());
        assertEquals(List.of(LoraSection.ALL_LINEAR), back.stageConfigs().get(0).lora().targetModules());
    }

    @Test
    void defaultsAndEveryRecipeRoundTrip() throws IOException {
        List<TrainConfig> configs = new ArrayList<>();
        configs.add(TrainConfig.defaults());
        for (String n : Recipes.names()) configs.add(Recipes.load(n));
        for (TrainConfig c : configs) {
            TrainConfig back = reload(c, String.valueOf(c.description()));
            assertEquals(c, back, "round trip of " + c.description());
            assertEquals(c.toYaml(), back.toYaml(), "writing is deterministic");
        }
    }

    /** An independent reader (plain SnakeYAML into maps) sees every key of the schema in the file. */
    @Test
    void resolvedYamlHoldsEveryKey() {
        Map<String, Object> doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(TrainConfig.defaults().toYaml());
        Set<String> written = new TreeSet<>();
        collect(doc, "", written);
        assertEquals(new TreeSet<>(ConfigSchema.leafPaths(TrainConfig.class, "")), written);
    }

    @SuppressWarnings("unchecked")
    private static void collect(Map<String, Object> m, String prefix, Set<String> out) {
        for (var e : m.entrySet()) {
            String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue() instanceof Map<?, ?> child) collect((Map<String, Object>) child, path, out);
            else out.add(path);
        }
    }

    @Test
    void randomOverrideSetsRoundTrip() throws IOException {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        List<String> paths = ConfigSchema.leafPaths(TrainConfig.class, "").stream()
                .filter(p -> !p.equals("stages") && !p.equals("data.data_files")).toList();
        for (int trial = 0; trial < 40; trial++) {
            String recipe = Recipes.names().get(rnd.nextInt(Recipes.names().size()));
            Map<String, Object> base = ConfigTree.toTree(Recipes.load(recipe));
            Map<String, String> raw = new LinkedHashMap<>();
            List<String> shuffled = new ArrayList<>(paths);
            java.util.Collections.shuffle(shuffled, rnd);
            for (String p : shuffled.subList(0, 1 + rnd.nextInt(12))) raw.put(p, generate(p, typeAt(p), rnd));
            fixUp(raw, base);

            // Half the trials pass the set on the command line, half as a user YAML file whose
            // values are all YAML strings (written by SnakeYAML), typed by the schema on reading.
            boolean viaYaml = rnd.nextBoolean();
            List<String> args = new ArrayList<>();
            Path user = null;
            if (viaYaml) {
                user = dir.resolve("user.yaml");
                Files.writeString(user, new Yaml().dump(nested(raw)));
            } else {
                for (var e : raw.entrySet()) {
                    if (rnd.nextBoolean()) args.add("--" + e.getKey() + "=" + e.getValue());
                    else {
                        args.add("--" + e.getKey());
                        args.add(e.getValue());
                    }
                }
            }
            String label = "seed " + seed + " trial " + trial + " recipe " + recipe + (viaYaml ? " yaml " : " args ")
                    + (viaYaml ? raw : args);
            TrainConfig c;
            try {
                c = TrainConfig.resolve(recipe, user, args);
            } catch (UserError e) {
                fail(label + ": a valid override set was rejected: " + e.getMessage());
                return;
            }
            Map<String, Object> tree = ConfigTree.toTree(c);
            for (var e : raw.entrySet()) {
                Object expected = expected(e.getKey(), typeAt(e.getKey()), e.getValue());
                Object actual = at(tree, e.getKey());
                if (actual instanceof Enum<?> en) actual = en.name().toLowerCase(java.util.Locale.ROOT);
                assertEquals(expected, actual, label + ": key " + e.getKey() + " from '" + e.getValue() + "'");
            }
            assertEquals(c, reload(c, label), label + ": round trip");
        }
    }

    private static Type typeAt(String path) {
        Class<?> t = TrainConfig.class;
        Type out = null;
        for (String seg : path.split("\\.")) {
            out = ConfigSchema.typeOf(t, seg);
            assertNotNull(out, path);
            if (out instanceof Class<?> c && c.isRecord()) t = c;
        }
        return out;
    }

    /** Dotted keys to nested maps; "null" becomes a YAML null. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> nested(Map<String, String> raw) {
        Map<String, Object> root = new LinkedHashMap<>();
        for (var e : raw.entrySet()) {
            String[] segs = e.getKey().split("\\.");
            Map<String, Object> m = root;
            for (int i = 0; i < segs.length - 1; i++) {
                m = (Map<String, Object>) m.computeIfAbsent(segs[i], k -> new LinkedHashMap<String, Object>());
            }
            m.put(segs[segs.length - 1], e.getValue().equals("null") ? null : e.getValue());
        }
        return root;
    }

    private static boolean nullableAt(String path) {
        Class<?> t = TrainConfig.class;
        String[] segs = path.split("\\.");
        for (int i = 0; i < segs.length - 1; i++) t = (Class<?>) ConfigSchema.typeOf(t, segs[i]);
        return ConfigSchema.nullable(t, segs[segs.length - 1]);
    }

    private static String generate(String path, Type t, Random rnd) {
        if (nullableAt(path) && rnd.nextInt(7) == 0) return "null";
        switch (path) {
            case "quantization.block_size": return String.valueOf(64 << rnd.nextInt(7));
            case "training.early_stopping.metric": return rnd.nextBoolean() ? "eval_loss" : "eval_perplexity";
            case "lora.target_modules": {
                if (rnd.nextInt(4) == 0) return LoraSection.ALL_LINEAR;
                List<String> m = new ArrayList<>(MODULES);
                java.util.Collections.shuffle(m, rnd);
                return String.join(",", m.subList(0, 1 + rnd.nextInt(m.size())));
            }
            case "lora.modules_to_save": return List.of("", "lm_head", "embed_tokens,lm_head").get(rnd.nextInt(3));
            case "lora.layers_to_transform": {
                List<Integer> layers = new ArrayList<>();
                for (int i = 0; i < 64; i++) layers.add(i);
                java.util.Collections.shuffle(layers, rnd);
                return String.join(",", layers.subList(0, 1 + rnd.nextInt(5)).stream().map(String::valueOf).toList());
            }
            case "data.files", "data.eval_files": {
                List<String> files = new ArrayList<>();
                int n = rnd.nextInt(4);
                for (int i = 0; i < n; i++) files.add("dir " + rnd.nextInt(100) + "/f" + i + ".jsonl");
                return String.join(",", files);
            }
            default:
        }
        if (t == int.class || t == Integer.class) return String.valueOf(1 + rnd.nextInt(1000));
        if (t == double.class || t == Double.class) {
            double v = (1 + rnd.nextInt(4499)) / 10000.0;
            return switch (rnd.nextInt(3)) {
                case 0 -> Double.toString(v);
                case 1 -> String.format(java.util.Locale.ROOT, "%.3e", v);
                default -> String.format(java.util.Locale.ROOT, "%.2E", v);
            };
        }
        if (t == boolean.class || t == Boolean.class) return String.valueOf(rnd.nextBoolean());
        if (t == String.class) return TRICKY.get(rnd.nextInt(TRICKY.size())) + rnd.nextInt(10);
        if (t instanceof Class<?> c && c.isEnum()) {
            List<String> names = new ArrayList<>(Arrays.stream(c.getEnumConstants())
                    .map(e -> ((Enum<?>) e).name().toLowerCase(java.util.Locale.ROOT)).toList());
            if (path.equals("quantization.compute_dtype")) names.remove("auto");
            return names.get(rnd.nextInt(names.size()));
        }
        throw new AssertionError("no generator for " + path + " of type " + t);
    }

    /** Makes a random set valid: the cross-field rules, applied the way a user would fix them. */
    private static void fixUp(Map<String, String> raw, Map<String, Object> base) {
        if (isNull(raw, base, "training.epochs") && isNull(raw, base, "training.max_steps")) raw.put("training.max_steps", "10");
        if (!isNull(raw, base, "training.warmup_steps") && !isNull(raw, base, "training.warmup_ratio")) {
            raw.put("training.warmup_ratio", "null");
        }
        if (value(raw, base, "quantization.mode").equals("none") && value(raw, base, "quantization.double_quant").equals("true")) {
            raw.put("quantization.double_quant", "false");
        }
        boolean evalData = Double.parseDouble(value(raw, base, "data.eval_split")) > 0
                || !value(raw, base, "data.eval_files").isEmpty();
        if (!value(raw, base, "training.eval_strategy").equals("no") && !evalData) raw.put("data.eval_split", "0.1");
        if (value(raw, base, "training.eval_strategy").equals("no")
                && value(raw, base, "training.early_stopping.enabled").equals("true")) {
            raw.put("training.early_stopping.enabled", "false");
        }
        if (value(raw, base, "training.save_strategy").equals("steps") && isNull(raw, base, "training.save_steps")) {
            raw.put("training.save_steps", "100");
        }
    }

    private static boolean isNull(Map<String, String> raw, Map<String, Object> base, String path) {
        return value(raw, base, path).equals("null");
    }

    /** The effective value as text: what the set gives, else the recipe's. */
    private static String value(Map<String, String> raw, Map<String, Object> base, String path) {
        if (raw.containsKey(path)) return raw.get(path);
        Object v = at(base, path);
        if (v == null) return "null";
        if (v instanceof Enum<?> e) return e.name().toLowerCase(java.util.Locale.ROOT);
        if (v instanceof List<?> l) return l.isEmpty() ? "" : l.toString();
        return v.toString();
    }

    @SuppressWarnings("unchecked")
    private static Object at(Map<String, Object> tree, String path) {
        Object cur = tree;
        for (String seg : path.split("\\.")) cur = ((Map<String, Object>) cur).get(seg);
        return cur;
    }

    /** The value the text means, parsed here without the config code. */
    private static Object expected(String path, Type t, String raw) {
        if (raw.equals("null")) return null;
        if (path.equals("data.files") || path.equals("data.eval_files")) {
            List<Object> out = new ArrayList<>();
            if (raw.isEmpty()) return out;
            for (String f : raw.split(",")) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("path", f);
                m.put("weight", 1.0);
                m.put("format", DataFile.Format.AUTO);
                m.put("fields", Map.of());
                out.add(m);
            }
            return out;
        }
        if (ConfigSchema.isList(t)) {
            if (raw.isEmpty()) return List.of();
            Type e = ConfigSchema.elementType(t);
            return Arrays.stream(raw.split(",")).map(s -> e == Integer.class ? (Object) Integer.valueOf(s) : s).toList();
        }
        if (t == int.class || t == Integer.class) return Integer.valueOf(raw);
        if (t == double.class || t == Double.class) return Double.valueOf(raw);
        if (t == boolean.class || t == Boolean.class) return Boolean.valueOf(raw);
        return raw;
    }
}
