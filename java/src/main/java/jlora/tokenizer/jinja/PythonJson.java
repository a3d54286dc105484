package jlora.tokenizer.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code tojson} filter: Python {@code json.dumps(x, ensure_ascii=False,
 * indent=indent, sort_keys=sort_keys)}. Without indent the separators are {@code ", "} and
 * {@code ": "}; with indent, {@code ","} at line ends and {@code ": "}. Only the characters
 * json.dumps escapes with ensure_ascii=False are escaped; floats print as Python's repr.
 */
public final class PythonJson {
    private PythonJson() {}

    public static String dumps(Object value, Integer indent, boolean sortKeys) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, indent, sortKeys, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Integer indent, boolean sortKeys, int depth) {
        switch (v) {
            case null -> sb.append("null");
            case String s -> string(sb, s);
            case Boolean b -> sb.append(b ? "true" : "false");
            case Double d -> sb.append(floatRepr(d));
            case Float f -> sb.append(floatRepr(f.doubleValue()));
            case BigDecimal d -> sb.append(floatRepr(d.doubleValue()));
            case Number n -> sb.append(n);
            case Map<?, ?> m -> {
                List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
                if (sortKeys) entries.sort((x, y) -> String.valueOf(x.getKey()).compareTo(String.valueOf(y.getKey())));
                if (entries.isEmpty()) { sb.append("{}"); return; }
                sb.append('{');
                for (int i = 0; i < entries.size(); i++) {
                    separator(sb, i, indent, depth + 1);
                    Object key = entries.get(i).getKey();
                    string(sb, key instanceof String s ? s : keyString(key));
                    sb.append(": ");
                    write(sb, entries.get(i).getValue(), indent, sortKeys, depth + 1);
                }
                close(sb, indent, depth, '}');
            }
            case Map.Entry<?, ?> e -> write(sb, List.of(String.valueOf(e.getKey()), e.getValue()), indent, sortKeys, depth);
            case Collection<?> c -> {
                if (c.isEmpty()) { sb.append("[]"); return; }
                sb.append('[');
                int i = 0;
                for (Object item : c) {
                    separator(sb, i++, indent, depth + 1);
                    write(sb, item, indent, sortKeys, depth + 1);
                }
                close(sb, indent, depth, ']');
            }
            case Object[] arr -> write(sb, List.of(arr), indent, sortKeys, depth);
            default -> string(sb, v.toString());
        }
    }

    private static String keyString(Object key) {
        if (key == null) return "null";
        if (key instanceof Boolean b) return b ? "true" : "false";
        return key.toString();
    }

    private static void separator(StringBuilder sb, int i, Integer indent, int depth) {
        if (indent == null) {
            if (i > 0) sb.append(", ");
        } else {
            if (i > 0) sb.append(',');
            sb.append('\n').append(" ".repeat(indent * depth));
        }
    }

    private static void close(StringBuilder sb, Integer indent, int depth, char bracket) {
        if (indent != null) sb.append('\n').append(" ".repeat(indent * depth));
        sb.append(bracket);
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /** Python float repr: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = bd.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - bd.scale();  // decimal exponent of the first digit
        String sign = d < 0 ? "-" : "";
        if (exp < -4 || exp >= 16) {
            String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        String plain = bd.abs().toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }
}
