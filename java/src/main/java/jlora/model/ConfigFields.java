package jlora.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import jlora.UserError;

/**
 * Typed access to the fields of one JSON object in a config file. Every problem becomes a
 * {@link UserError} that names the field (with its path inside the file, e.g.
 * {@code rope_scaling.factor}) and the file. A JSON {@code null} counts as absent, as it does
 * for transformers' config classes.
 */
final class ConfigFields {
    private final JsonNode node;
    private final Path file;
    private final String prefix;
    private final String what;

    /** {@code what} says in an error what needs the field, e.g. "a qwen2 config". */
    ConfigFields(JsonNode node, Path file, String prefix, String what) {
        this.node = node;
        this.file = file;
        this.prefix = prefix;
        this.what = what;
    }

    Path file() {
        return file;
    }

    boolean has(String name) {
        JsonNode v = node.get(name);
        return v != null && !v.isNull();
    }

    /** True when the key is written out with the value {@code null} (differs from absent). */
    boolean isExplicitNull(String name) {
        JsonNode v = node.get(name);
        return v != null && v.isNull();
    }

    int requiredInt(String name) {
        if (!has(name)) throw missing(name);
        return toInt(name, node.get(name));
    }

    int optionalInt(String name, int fallback) {
        return has(name) ? toInt(name, node.get(name)) : fallback;
    }

    double requiredDouble(String name) {
        if (!has(name)) throw missing(name);
        return toDouble(name, node.get(name));
    }

    double optionalDouble(String name, double fallback) {
        return has(name) ? toDouble(name, node.get(name)) : fallback;
    }

    boolean optionalBoolean(String name, boolean fallback) {
        if (!has(name)) return fallback;
        JsonNode v = node.get(name);
        if (!v.isBoolean()) throw wrongType(name, "true or false", v);
        return v.booleanValue();
    }

    String optionalString(String name, String fallback) {
        if (!has(name)) return fallback;
        JsonNode v = node.get(name);
        if (!v.isTextual()) throw wrongType(name, "a string", v);
        return v.textValue();
    }

    /** A token id field that transformers allows as one integer or a list (eos_token_id). */
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

    List<String> optionalStringList(String name) {
        List<String> out = new ArrayList<>();
        if (!has(name)) return out;
        JsonNode v = node.get(name);
        if (!v.isArray()) throw wrongType(name, "a list of strings", v);
        for (JsonNode e : v) {
            if (!e.isTextual()) throw wrongType(name, "a list of strings", v);
            out.add(e.textValue());
        }
        return out;
    }

    /** A nested object, or null when absent; anything else than an object is an error. */
    ConfigFields optionalObject(String name) {
        if (!has(name)) return null;
        JsonNode v = node.get(name);
        if (!v.isObject()) throw wrongType(name, "an object", v);
        return new ConfigFields(v, file, prefix + name + ".", what);
    }

    UserError invalid(String name, String problem) {
        return new UserError(file + ": field '" + prefix + name + "' " + problem);
    }

    private int toInt(String name, JsonNode v) {
        // transformers writes ints as ints; a float such as 4096.0 means the file was edited by
        // hand or by a tool we should not silently trust.
        if (!v.isIntegralNumber()) throw wrongType(name, "an integer", v);
        if (!v.canConvertToInt()) throw invalid(name, "is " + v + ", outside the 32-bit integer range");
        return v.intValue();
    }

    private double toDouble(String name, JsonNode v) {
        if (!v.isNumber()) throw wrongType(name, "a number", v);
        return v.doubleValue();
    }

    private UserError missing(String name) {
        return new UserError(file + ": missing field '" + prefix + name + "', which " + what
                + " needs. Use the config.json from the model's Hugging Face repository.");
    }

    private UserError wrongType(String name, String expected, JsonNode found) {
        String shown = found.isNull() ? "" : " " + found;
        if (shown.length() > 60) shown = shown.substring(0, 57) + "...";
        return new UserError(file + ": field '" + prefix + name + "' must be " + expected
                + ", found " + kind(found) + shown + ". Fix the value or re-download config.json.");
    }

    private static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> v.isIntegralNumber() ? "integer" : "number";
            case BOOLEAN -> "boolean";
            case ARRAY -> "list";
            case OBJECT -> "object";
            default -> v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
