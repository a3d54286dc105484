package jlora.io;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * JSON text exactly as Python's {@code json.dumps} writes it, for the two places where bytes must
 * match Python's: Hugging Face's {@code tojson} template filter ({@code ensure_ascii=False},
 * indent, sort_keys) and bitsandbytes' packed quant-state blob (all defaults). Without indent
 * the separators are {@code ", "} and {@code ": "}; with indent, {@code ","} at line ends and
 * {@code ": "}. Floats print as Python's repr.
 */
public final class PythonJson {
    /** {@code json.dumps(value)} with Python's defaults (ensure_ascii=True, no indent, keys in order). */
    public static String dumps(Object value) {
        return dumps(value, null, false, true);
    }

    public static String dumps(Object value, Integer indent, boolean sortKeys, boolean ensureAscii) {
        StringBuilder sb = new StringBuilder();
        new PythonJson(indent, sortKeys, ensureAscii).write(sb, value, 0);
        return sb.toString();
    }

    private final Integer indent;
    private final boolean sortKeys;
    private final boolean ensureAscii;

    private PythonJson(Integer indent, boolean sortKeys, boolean ensureAscii) {
        this.indent = indent;
        this.sortKeys = sortKeys;
        this.ensureAscii = ensureAscii;
    }

    private void write(StringBuilder sb, Object v, int depth) {
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
                    separator(sb, i, depth + 1);
                    Object key = entries.get(i).getKey();
                    string(sb, key instanceof String s ? s : keyString(key));
                    sb.append(": ");
                    write(sb, entries.get(i).getValue(), depth + 1);
                }
                close(sb, depth, '}');
            }
            case Map.Entry<?, ?> e -> write(sb, List.of(String.valueOf(e.getKey()), e.getValue()), depth);
            case Collection<?> c -> {
                if (c.isEmpty()) { sb.append("[]"); return; }
                sb.append('[');
                int i = 0;
                for (Object item : c) {
                    separator(sb, i++, depth + 1);
                    write(sb, item, depth + 1);
                }
                close(sb, depth, ']');
            }
            case Object[] arr -> write(sb, List.of(arr), depth);
            default -> string(sb, v.toString());
        }
    }

    private static String keyString(Object key) {
        if (key == null) return "null";
        if (key instanceof Boolean b) return b ? "true" : "false";
        return key.toString();
    }

    private void separator(StringBuilder sb, int i, int depth) {
        if (indent == null) {
            if (i > 0) sb.append(", ");
        } else {
            if (i > 0) sb.append(',');
            sb.append('\n').append(" ".repeat(indent * depth));
        }
    }

    private void close(StringBuilder sb, int depth, char bracket) {
        if (indent != null) sb.append('\n').append(" ".repeat(indent * depth));
        sb.append(bracket);
    }

    private void string(StringBuilder sb, String s) {
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
                    // ensure_ascii escapes every non-ASCII UTF-16 unit (surrogates one by one, as Python).
                    if (c < 0x20 || (ensureAscii && c > 0x7F)) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /** Python float repr: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
    public static String floatRepr(double d) {
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
