package jlora.train;

import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jlora.UserError;

/**
 * Command-line overrides, {@code --section.key value} or {@code --section.key=value}, applied
 * last onto the merged tree and typed by the schema: numbers ({@code 2e-4}), booleans (a bare
 * {@code --data.packing} means true), comma lists ({@code q_proj,v_proj}), {@code null} to unset
 * an optional key, and list indices for stages and data files
 * ({@code --stages.1.training.max_steps 30}).
 */
final class CliOverrides {
    static final String SOURCE = "command line";
    /**
     * The short forms issue 4's usage line shows ({@code jlora train --recipe NAME --model DIR
     * --data FILES}): a bare section name that is really one key of it.
     */
    static final Map<String, String> SHORTCUTS = Map.of("model", "model.path", "data", "data.files",
            "device", "training.device");

    private CliOverrides() {
    }

    static void apply(List<String> args, Map<String, Object> tree, Map<String, String> origins) {
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new UserError(SOURCE + ": expected an option like '--lora.r 64', got '" + arg + "'");
            }
            String key = arg.substring(2);
            String value = null;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            }
            String given = key;
            key = SHORTCUTS.getOrDefault(key, key);
            Type type = target(key);
            if (value == null) {
                boolean flag = type == boolean.class || type == Boolean.class;
                // The next argument is this key's value unless it is the next option (a value that
                // really starts with "--" can be given as --key=--value).
                boolean next = i + 1 < args.size() && !args.get(i + 1).startsWith("--");
                if (next) value = args.get(++i);
                else if (flag) value = "true";
                else throw new UserError(SOURCE + ": --" + key + " needs a value: " + ConfigSchema.describe(type));
            }
            set(tree, key, value);
            origins.put(key, SOURCE + " --" + given);
        }
    }

    /** The type at a dotted path, checking every segment (list indices are not checked here). */
    private static Type target(String key) {
        Class<?> type = TrainConfig.class;
        String prefix = "";
        String[] segs = key.split("\\.", -1);
        for (int i = 0; i < segs.length; i++) {
            Type t = ConfigSchema.typeOf(type, segs[i]);
            if (t == null) throw unknown(type, prefix, segs[i]);
            if (i == segs.length - 1) return t;
            prefix = join(prefix, segs[i]);
            if (ConfigSchema.isList(t) && ConfigSchema.isRecord(ConfigSchema.elementType(t))) {
                i++;
                if (i == segs.length) throw new UserError(SOURCE + ": --" + key + " is incomplete");
                prefix = join(prefix, segs[i]);
                if (i == segs.length - 1) return ConfigSchema.elementType(t);
                t = ConfigSchema.elementType(t);
            }
            if (!ConfigSchema.isRecord(t)) {
                throw new UserError(SOURCE + ": --" + key + ": '" + prefix + "' is a single value with no keys under it");
            }
            type = (Class<?>) t;
        }
        throw new IllegalStateException("unreachable");
    }

    private static void set(Map<String, Object> tree, String key, String raw) {
        String[] segs = key.split("\\.", -1);
        Class<?> type = TrainConfig.class;
        Map<String, Object> node = tree;
        String prefix = "";
        for (int i = 0; i < segs.length; i++) {
            Type t = ConfigSchema.typeOf(type, segs[i]);
            String path = join(prefix, segs[i]);
            if (i == segs.length - 1) {
                node.put(segs[i], coerce(t, ConfigSchema.nullable(type, segs[i]), raw, key));
                return;
            }
            if (ConfigSchema.isRecord(t)) {
                node = child(node, segs[i]);
                type = (Class<?>) t;
            } else {
                // A list of mappings: the next segment is an index into what the lower layers set.
                Type element = ConfigSchema.elementType(t);
                Object current = node.get(segs[i]);
                List<Object> list = current instanceof List<?> l ? new ArrayList<>(l) : new ArrayList<>();
                node.put(segs[i], list);
                int idx = index(segs[++i], list.size(), path, key);
                if (i == segs.length - 1) {
                    list.set(idx, coerce(element, false, raw, key));
                    return;
                }
                Map<String, Object> item = ConfigTree.thawed(ConfigTree.cast(list.get(idx)));
                list.set(idx, item);
                node = item;
                type = (Class<?>) element;
                path = join(path, segs[i]);
            }
            prefix = path;
        }
    }

    private static int index(String seg, int size, String path, String key) {
        int idx;
        try {
            idx = Integer.parseInt(seg);
        } catch (NumberFormatException e) {
            throw new UserError(SOURCE + ": --" + key + ": '" + path + "' is a list; after it comes an index "
                    + "(0 to " + (size - 1) + "), not '" + seg + "'");
        }
        if (idx < 0 || idx >= size) {
            throw new UserError(SOURCE + ": --" + key + ": '" + path + "' has " + size + " entries, so index " + idx
                    + " does not exist" + (size == 0 ? "; give the list first (in YAML, or an earlier --" + path + " a,b)"
                    : "; use 0 to " + (size - 1)));
        }
        return idx;
    }

    private static Object coerce(Type t, boolean nullable, String raw, String key) {
        if (nullable && (raw.equals("null") || raw.equals("~"))) return null;
        if (ConfigSchema.isRecord(t) && t != DataFile.class) {
            throw new UserError(SOURCE + ": --" + key + " is a group of keys; set one of them, e.g. --" + key + "."
                    + ConfigSchema.keys((Class<?>) t).getLast());
        }
        if (ConfigSchema.isStringMap(t)) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (String pair : raw.split(",")) {
                int eq = pair.indexOf('=');
                if (eq <= 0) throw new UserError(SOURCE + ": --" + key + " expected name=column pairs like "
                        + "'user=ko,assistant=en', got '" + raw + "'");
                out.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
            }
            return out;
        }
        try {
            return ConfigValues.scalar(raw, t);
        } catch (ConfigValues.BadValue e) {
            throw new UserError(SOURCE + ": --" + key + " " + e.getMessage());
        }
    }

    private static Map<String, Object> child(Map<String, Object> node, String key) {
        Object v = node.get(key);
        Map<String, Object> m = v instanceof Map<?, ?> ? ConfigTree.thawed(ConfigTree.cast(v)) : new LinkedHashMap<>();
        node.put(key, m);
        return m;
    }

    private static UserError unknown(Class<?> type, String prefix, String seg) {
        return new UserError(SOURCE + ": unknown key '" + join(prefix, seg) + "'" + KeySuggestion.hint(type, prefix, seg));
    }

    private static String join(String prefix, String seg) {
        return prefix.isEmpty() ? seg : prefix + "." + seg;
    }
}
