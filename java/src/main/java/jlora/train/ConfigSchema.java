package jlora.train;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The schema is the section records themselves: a YAML key is a record component's name in
 * snake_case, its type the component's type. This class answers the questions the loader,
 * writer and error messages ask of it, so no second list of keys can drift from the records.
 */
final class ConfigSchema {
    /** Stage keys besides the section overrides. */
    static final List<String> STAGE_KEYS = List.of("name", "start_from");
    /** Sections a stage may override: every top-level key but these. */
    private static final List<String> NOT_STAGE_OVERRIDABLE = List.of("description", "stages");

    private ConfigSchema() {
    }

    /** {@code maxSeqLength} to {@code max_seq_length}; digits stay attached ({@code adamBeta1} to {@code adam_beta1}). */
    static String yamlName(String javaName) {
        StringBuilder b = new StringBuilder();
        for (char c : javaName.toCharArray()) {
            if (Character.isUpperCase(c)) b.append('_').append(Character.toLowerCase(c));
            else b.append(c);
        }
        return b.toString();
    }

    static String enumName(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    static List<RecordComponent> components(Class<?> record) {
        return Arrays.asList(record.getRecordComponents());
    }

    /** The keys a mapping of this record type may hold, in declaration order. */
    static List<String> keys(Class<?> record) {
        if (record == Stage.class) {
            List<String> keys = new ArrayList<>(STAGE_KEYS);
            keys.addAll(stageSections());
            return keys;
        }
        return components(record).stream().map(c -> yamlName(c.getName())).toList();
    }

    static List<String> stageSections() {
        return keys(TrainConfig.class).stream().filter(k -> !NOT_STAGE_OVERRIDABLE.contains(k)).toList();
    }

    /** The type of key {@code key} in a mapping of type {@code record}, or null if there is no such key. */
    static Type typeOf(Class<?> record, String key) {
        if (record == Stage.class) {
            if (key.equals("name")) return String.class;
            if (key.equals("start_from")) return Stage.StartFrom.class;
            return stageSections().contains(key) ? typeOf(TrainConfig.class, key) : null;
        }
        for (RecordComponent c : record.getRecordComponents()) {
            if (yamlName(c.getName()).equals(key)) return c.getGenericType();
        }
        return null;
    }

    static boolean isRecord(Type t) {
        return t instanceof Class<?> c && c.isRecord();
    }

    static boolean isList(Type t) {
        return t instanceof ParameterizedType p && p.getRawType() == List.class;
    }

    static boolean isStringMap(Type t) {
        return t instanceof ParameterizedType p && p.getRawType() == Map.class;
    }

    static Type elementType(Type listType) {
        return ((ParameterizedType) listType).getActualTypeArguments()[0];
    }

    /** Whether key {@code key} of a mapping of type {@code record} may be unset (see {@link Nullable}). */
    static boolean nullable(Class<?> record, String key) {
        if (record == Stage.class) return STAGE_KEYS.contains(key);
        for (RecordComponent c : record.getRecordComponents()) {
            if (yamlName(c.getName()).equals(key)) return c.isAnnotationPresent(Nullable.class);
        }
        return false;
    }

    /** What a value of this type looks like, for "expected ..." messages. */
    static String describe(Type t) {
        if (t == int.class || t == Integer.class) return "a whole number";
        if (t == double.class || t == Double.class) return "a number (like 0.05 or 2e-4)";
        if (t == boolean.class || t == Boolean.class) return "true or false";
        if (t == String.class) return "text";
        if (t instanceof Class<?> c && c.isEnum()) {
            return "one of " + String.join(", ", enumNames(c));
        }
        if (isList(t)) return "a list of " + plural(describe(elementType(t)));
        if (isStringMap(t)) return "a mapping of names to names";
        if (t == DataFile.class) return "a file path or a mapping with path, weight, format, fields";
        return "a mapping with keys " + String.join(", ", keys((Class<?>) t));
    }

    static List<String> enumNames(Class<?> enumType) {
        return Arrays.stream(enumType.getEnumConstants()).map(e -> enumName((Enum<?>) e)).toList();
    }

    private static String plural(String description) {
        return description.startsWith("a ") ? description.substring(2) + "s" : description;
    }

    /** The record's own {@code defaults()}: the value of every key a YAML mapping leaves out. */
    static Record defaults(Class<?> record) {
        try {
            var m = record.getDeclaredMethod("defaults");
            m.setAccessible(true);
            return (Record) m.invoke(null);
        } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("config record " + record.getSimpleName() + " needs static defaults()", e);
        }
    }

    /**
     * Every scalar or list key path under a record type ({@code lora.r},
     * {@code training.early_stopping.patience}, ...), for suggestions and tests; lists of
     * records (data files, stages) count as one key.
     */
    static List<String> leafPaths(Class<?> record, String prefix) {
        List<String> out = new ArrayList<>();
        for (String key : keys(record)) {
            Type t = typeOf(record, key);
            String path = prefix.isEmpty() ? key : prefix + "." + key;
            if (isRecord(t) && t != Stage.class) out.addAll(leafPaths((Class<?>) t, path));
            else out.add(path);
        }
        return out;
    }
}
