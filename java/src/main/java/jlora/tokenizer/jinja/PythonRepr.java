package jlora.tokenizer.jinja;

import jlora.io.PythonJson;

import java.util.Collection;
import java.util.Map;

/**
 * What Jinja2 prints for a value, {@code str(value)}: True / False, Python's repr inside
 * lists and dicts ({@code [1, 'a', None]}, {@code {'k': 'v'}}), float repr. A null prints as
 * the empty string, because Jinjava cannot tell an undefined variable (which prints "")
 * from None (which Python prints as "None"); chat messages never hold None (see
 * Message.toTemplateMap).
 */
final class PythonRepr {
    private PythonRepr() {}

    static String str(Object v) {
        if (v == null) return "";
        if (v instanceof String s) return s;
        if (v instanceof CharSequence cs) return cs.toString();
        return repr(v);
    }

    static String repr(Object v) {
        StringBuilder sb = new StringBuilder();
        repr(sb, v);
        return sb.toString();
    }

    private static void repr(StringBuilder sb, Object v) {
        switch (v) {
            case null -> sb.append("None");
            case Boolean b -> sb.append(b ? "True" : "False");
            case Double d -> sb.append(PythonJson.floatRepr(d).replace("Infinity", "inf").replace("NaN", "nan"));
            case Float f -> sb.append(PythonJson.floatRepr(f.doubleValue()));
            case java.math.BigDecimal d -> sb.append(PythonJson.floatRepr(d.doubleValue()));
            case Number n -> sb.append(n);
            case CharSequence cs -> string(sb, cs.toString());
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) sb.append(", ");
                    first = false;
                    repr(sb, e.getKey());
                    sb.append(": ");
                    repr(sb, e.getValue());
                }
                sb.append('}');
            }
            case Map.Entry<?, ?> e -> {
                sb.append('(');
                repr(sb, e.getKey());
                sb.append(", ");
                repr(sb, e.getValue());
                sb.append(')');
            }
            case Collection<?> c -> {
                sb.append('[');
                boolean first = true;
                for (Object o : c) {
                    if (!first) sb.append(", ");
                    first = false;
                    repr(sb, o);
                }
                sb.append(']');
            }
            default -> sb.append(v);
        }
    }

    /** Python's str repr: single quotes unless the text has ' and no ", escapes for the unprintable. */
    private static void string(StringBuilder sb, String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(q);
        s.codePoints().forEach(cp -> {
            if (cp == q || cp == '\\') sb.append('\\').appendCodePoint(cp);
            else if (cp == '\n') sb.append("\\n");
            else if (cp == '\r') sb.append("\\r");
            else if (cp == '\t') sb.append("\\t");
            else if (cp < 0x20 || cp == 0x7f) sb.append(String.format("\\x%02x", cp));
            else if (!isPrintable(cp)) {
                if (cp <= 0xff) sb.append(String.format("\\x%02x", cp));
                else if (cp <= 0xffff) sb.append(String.format("\\u%04x", cp));
                else sb.append(String.format("\\U%08x", cp));
            } else sb.appendCodePoint(cp);
        });
        sb.append(q);
    }

    /** str.isprintable per code point: not a control, format, surrogate, private, unassigned or separator other than space. */
    private static boolean isPrintable(int cp) {
        if (cp == ' ') return true;
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                 Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> false;
            default -> true;
        };
    }
}
