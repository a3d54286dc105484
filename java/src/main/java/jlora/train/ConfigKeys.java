package jlora.train;

import java.lang.reflect.Type;
import java.util.List;
import java.util.Map;

/**
 * The key reference `jlora train --help` can print: every key, what it takes, and its built-in
 * default, read from the schema records so it cannot go stale.
 */
public final class ConfigKeys {
    /** One overridable key: {@code --path value}. */
    public record Key(String path, String takes, String defaultValue) {
    }

    private ConfigKeys() {
    }

    public static List<Key> all() {
        Map<String, Object> defaults = ConfigTree.toTree(TrainConfig.defaults());
        return ConfigSchema.leafPaths(TrainConfig.class, "").stream()
                .map(p -> new Key(p, ConfigSchema.describe(typeAt(p)), show(valueAt(defaults, p))))
                .toList();
    }

    private static Type typeAt(String path) {
        Class<?> t = TrainConfig.class;
        Type out = null;
        for (String seg : path.split("\\.")) {
            out = ConfigSchema.typeOf(t, seg);
            if (ConfigSchema.isRecord(out)) t = (Class<?>) out;
        }
        return out;
    }

    private static Object valueAt(Map<String, Object> tree, String path) {
        Object cur = tree;
        for (String seg : path.split("\\.")) cur = ConfigTree.cast(cur).get(seg);
        return cur;
    }

    private static String show(Object v) {
        if (v == null) return "unset";
        if (v instanceof Enum<?> e) return ConfigSchema.enumName(e);
        if (v instanceof List<?> l) return l.isEmpty() ? "[]" : String.join(",", l.stream().map(String::valueOf).toList());
        return String.valueOf(v);
    }
}
