package jlora.train;

import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Configs as trees: nested maps keyed by YAML names whose leaves are already typed (Integer,
 * Double, Boolean, String, enum constants, lists, string maps). Layers are partial trees;
 * merging them and binding the result to records happen here, away from YAML and the CLI.
 */
final class ConfigTree {
    private ConfigTree() {
    }

    /** Deep merge: mappings of a record type merge key by key; scalars, lists and string maps replace. */
    static Map<String, Object> merge(Class<?> type, Map<String, Object> base, Map<String, Object> over) {
        Map<String, Object> out = thawed(base);
        for (var e : over.entrySet()) {
            Type t = ConfigSchema.typeOf(type, e.getKey());
            Object mine = out.get(e.getKey());
            if (t != null && ConfigSchema.isRecord(t) && mine instanceof Map<?, ?> m && e.getValue() instanceof Map<?, ?> o) {
                out.put(e.getKey(), merge((Class<?>) t, cast(m), cast(o)));
            } else {
                out.put(e.getKey(), thaw(e.getValue()));
            }
        }
        return out;
    }

    /** The full tree of a record: every key, in declaration order. */
    static Map<String, Object> toTree(Record r) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (r instanceof Stage s) {
            out.put("name", s.name());
            out.put("start_from", s.startFrom());
            out.putAll(thawed(s.overrides()));
            return out;
        }
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            out.put(ConfigSchema.yamlName(c.getName()), toTreeValue(get(c, r)));
        }
        return out;
    }

    private static Object toTreeValue(Object v) {
        if (v instanceof Record rec) return toTree(rec);
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(toTreeValue(o));
            return out;
        }
        if (v instanceof Map<?, ?> m) return new LinkedHashMap<>(new TreeMap<>(m));
        return v;
    }

    /**
     * Binds a (partial) tree to a record: keys the tree lacks take {@code defaults}' values;
     * mappings inside lists (data files, stages) take their own type's defaults.
     */
    static <R extends Record> R fromTree(Class<R> type, Map<String, Object> tree, Record defaults) {
        if (type == Stage.class) {
            Map<String, Object> overrides = thawed(tree);
            Object name = overrides.remove("name");
            Object start = overrides.remove("start_from");
            return type.cast(new Stage((String) name, (Stage.StartFrom) start, overrides));
        }
        RecordComponent[] comps = type.getRecordComponents();
        Object[] args = new Object[comps.length];
        Class<?>[] types = new Class<?>[comps.length];
        for (int i = 0; i < comps.length; i++) {
            RecordComponent c = comps[i];
            types[i] = c.getType();
            String key = ConfigSchema.yamlName(c.getName());
            Object fallback = get(c, defaults);
            args[i] = tree.containsKey(key) ? fromTreeValue(c.getGenericType(), tree.get(key), fallback) : fallback;
        }
        try {
            return type.getDeclaredConstructor(types).newInstance(args);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build " + type.getSimpleName(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Object fromTreeValue(Type t, Object v, Object fallback) {
        if (v == null) return null;
        if (ConfigSchema.isRecord(t)) {
            Class<? extends Record> rt = (Class<? extends Record>) t;
            Record d = fallback != null ? (Record) fallback : ConfigSchema.defaults(rt);
            return fromTree(rt, cast(v), d);
        }
        if (ConfigSchema.isList(t) && ConfigSchema.isRecord(ConfigSchema.elementType(t))) {
            Class<? extends Record> et = (Class<? extends Record>) ConfigSchema.elementType(t);
            List<Object> out = new ArrayList<>();
            for (Object o : (List<?>) v) out.add(fromTree(et, cast(o), ConfigSchema.defaults(et)));
            return out;
        }
        return v;
    }

    private static Object get(RecordComponent c, Record r) {
        try {
            var acc = c.getAccessor();
            acc.setAccessible(true);
            return acc.invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> cast(Object m) {
        return (Map<String, Object>) m;
    }

    /** A mutable deep copy. */
    static Map<String, Object> thawed(Map<String, ?> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : m.entrySet()) out.put(e.getKey(), thaw(e.getValue()));
        return out;
    }

    private static Object thaw(Object v) {
        if (v instanceof Map<?, ?> m) return thawed(cast(m));
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(thaw(o));
            return out;
        }
        return v;
    }

    /** An unmodifiable deep copy (null values kept: they mean "unset this key"). */
    static Map<String, Object> frozen(Map<String, ?> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : m.entrySet()) out.put(e.getKey(), freeze(e.getValue()));
        return Collections.unmodifiableMap(out);
    }

    private static Object freeze(Object v) {
        if (v instanceof Map<?, ?> m) return frozen(cast(m));
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(freeze(o));
            return Collections.unmodifiableList(out);
        }
        return v;
    }
}
