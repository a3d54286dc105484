package jlora.train;

import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Text to typed value, by the schema's type: the one parser behind YAML scalars and
 * command-line values, so {@code 2e-4} is a learning rate in both (YAML 1.1 alone would read
 * it as a string).
 */
final class ConfigValues {
    private static final Pattern DECIMAL = Pattern.compile("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?");

    private ConfigValues() {
    }

    /** Thrown with the description of what was expected; callers add where. */
    static final class BadValue extends Exception {
        BadValue(String message) {
            super(message, null, false, false);
        }
    }

    static Object scalar(String text, Type t) throws BadValue {
        String s = text.trim();
        if (t == int.class || t == Integer.class) {
            try {
                return Integer.valueOf(s.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new BadValue(expected(t, text));
            }
        }
        if (t == double.class || t == Double.class) {
            // Decimal notation only: Java would also take "1d", "0x1p3", "NaN" and "Infinity".
            String digits = s.replace("_", "");
            if (!DECIMAL.matcher(digits).matches()) throw new BadValue(expected(t, text));
            return Double.parseDouble(digits);
        }
        if (t == boolean.class || t == Boolean.class) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw new BadValue(expected(t, text));
            };
        }
        if (t == String.class) return text;
        if (t instanceof Class<?> c && c.isEnum()) {
            String want = s.toLowerCase(Locale.ROOT).replace('-', '_');
            for (Object e : c.getEnumConstants()) {
                if (ConfigSchema.enumName((Enum<?>) e).equals(want)) return e;
            }
            throw new BadValue(expected(t, text));
        }
        if (t == DataFile.class) return ConfigTree.toTree(DataFile.of(text));
        if (ConfigSchema.isList(t)) return list(text, ConfigSchema.elementType(t));
        throw new BadValue("expected " + ConfigSchema.describe(t) + ", got '" + text + "'");
    }

    /** A comma list ({@code q_proj,v_proj}); the empty string is the empty list. */
    static List<Object> list(String text, Type element) throws BadValue {
        List<Object> out = new ArrayList<>();
        if (text.isBlank()) return out;
        for (String part : text.split(",")) out.add(scalar(part.trim(), element));
        return out;
    }

    static String expected(Type t, String got) {
        return "expected " + ConfigSchema.describe(t) + ", got '" + got + "'";
    }
}
