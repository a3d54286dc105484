package jlora.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites the two expression forms where Jinjava's parser departs from Python's, before
 * Jinjava sees the template:
 * <ul>
 *   <li>slice subscripts {@code x[a:b:c]} become {@code x[py_slice(a, b, c)]}: Jinjava knows
 *       {@code [a:b]} but not steps ({@code messages[::-1]}) and has its own bounds rules. Only
 *       the bracket is rewritten, so the precedence of what precedes it is untouched;</li>
 *   <li>keyword arguments {@code f(k=v)} become {@code f(k=(v))}: Jinjava binds {@code =}
 *       tighter than arithmetic, so {@code namespace(i=messages|length - 1)} would subtract 1
 *       from the named parameter itself;</li>
 *   <li>a unary {@code not} gets parentheses around its operand (see {@link #wrapNot});</li>
 *   <li>{@code {{ x }}} prints through {@code py_str(x)}, so True, lists and dicts print as
 *       Jinja2 prints them.</li>
 * </ul> Text outside
 * {@code {{ }}} / {@code {% %}}, comments, string literals and {@code {% raw %}} blocks are
 * copied as they are; a bracket is a subscript (not a list literal) when it follows a name,
 * a closing bracket or a string.
 */
public final class TemplateRewriter {
    private TemplateRewriter() {}

    public static String rewrite(String template) {
        // Jinja2's keep_trailing_newline=False: the lexer drops one newline at the end of the source.
        if (template.endsWith("\r\n")) template = template.substring(0, template.length() - 2);
        else if (template.endsWith("\n") || template.endsWith("\r")) template = template.substring(0, template.length() - 1);
        StringBuilder out = new StringBuilder(template.length() + 64);
        int i = 0, n = template.length();
        while (i < n) {
            int open = nextTagOpen(template, i);
            if (open < 0) { out.append(template, i, n); break; }
            out.append(template, i, open);
            char kind = template.charAt(open + 1);
            if (kind == '#') {
                int end = template.indexOf("#}", open + 2);
                end = end < 0 ? n : end + 2;
                out.append(template, open, end);
                i = end;
                continue;
            }
            String close = kind == '{' ? "}}" : "%}";
            int end = findClose(template, open + 2, close);
            String body = template.substring(open + 2, end);
            String rewritten = rewriteExpression(wrapNot(body));
            out.append(template, open, open + 2).append(kind == '{' ? printed(rewritten) : rewritten);
            i = Math.min(n, end + 2);
            if (end < n) out.append(close);
            if (kind == '%' && body.replace("-", "").replace("+", "").strip().equals("raw")) {
                int endRaw = findEndRaw(template, i);
                out.append(template, i, endRaw);
                i = endRaw;
            }
        }
        return out.toString();
    }

    /** {@code {{- x -}}} becomes {@code {{- py_str(x) -}}}: values print as Jinja2 prints them. */
    private static String printed(String body) {
        int lo = 0, hi = body.length();
        if (lo < hi && (body.charAt(lo) == '-' || body.charAt(lo) == '+')) lo++;
        if (hi > lo && (body.charAt(hi - 1) == '-' || body.charAt(hi - 1) == '+')) hi--;
        String expr = body.substring(lo, hi);
        if (expr.isBlank()) return body;
        return body.substring(0, lo) + " py_str(" + expr + ") " + body.substring(hi);
    }

    private static int nextTagOpen(String t, int from) {
        for (int i = t.indexOf('{', from); i >= 0 && i + 1 < t.length(); i = t.indexOf('{', i + 1)) {
            char c = t.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** Position of {@code close} that ends the tag, skipping string literals; n if unclosed. */
    private static int findClose(String t, int from, String close) {
        int i = from;
        while (i < t.length()) {
            char c = t.charAt(i);
            if (c == '\'' || c == '"') { i = skipString(t, i); continue; }
            if (t.startsWith(close, i)) return i;
            i++;
        }
        return t.length();
    }

    private static int findEndRaw(String t, int from) {
        int i = from;
        while (true) {
            int open = t.indexOf("{%", i);
            if (open < 0) return t.length();
            int end = t.indexOf("%}", open);
            if (end < 0) return t.length();
            String body = t.substring(open + 2, end).replace("-", "").replace("+", "").strip();
            if (body.equals("endraw")) return open;
            i = end + 2;
        }
    }

    /** Index just after the string literal starting at {@code i} (backslash escapes honoured). */
    private static int skipString(String t, int i) {
        char q = t.charAt(i);
        int j = i + 1;
        while (j < t.length()) {
            char c = t.charAt(j);
            if (c == '\\') { j += 2; continue; }
            if (c == q) return j + 1;
            j++;
        }
        return t.length();
    }

    static String rewriteExpression(String e) {
        StringBuilder out = new StringBuilder(e.length() + 32);
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int j = skipString(e, i);
                out.append(e, i, j);
                i = j;
                continue;
            }
            if (c == '(' && isSubscript(e, i)) {
                int close = matchingBracket(e, i);
                if (close > 0) {
                    out.append('(');
                    List<String> args = splitTopLevel(e.substring(i + 1, close), ',');
                    for (int k = 0; k < args.size(); k++) {
                        if (k > 0) out.append(',');
                        out.append(rewriteArgument(args.get(k)));
                    }
                    out.append(')');
                    i = close + 1;
                    continue;
                }
            }
            if (c == '[' && isSubscript(e, i)) {
                int close = matchingBracket(e, i);
                if (close > 0) {
                    String inner = e.substring(i + 1, close);
                    List<String> parts = splitTopLevel(inner, ':');
                    if (parts.size() >= 2 && parts.size() <= 3) {
                        out.append("[py_slice(");
                        for (int k = 0; k < 3; k++) {
                            if (k > 0) out.append(", ");
                            String p = k < parts.size() ? parts.get(k).strip() : "";
                            out.append(p.isEmpty() ? "none" : rewriteExpression(p));
                        }
                        out.append(")]");
                    } else {
                        out.append('[').append(rewriteExpression(inner)).append(']');
                    }
                    i = close + 1;
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    private static final java.util.Set<String> NOT_ENDS = java.util.Set.of("and", "or", "if", "else");
    private static final java.util.Set<String> BEFORE_UNARY = java.util.Set.of(
            "and", "or", "not", "if", "elif", "else", "in", "return", "set", "print", "do");

    /**
     * Python's {@code not} binds looser than comparisons and tests ({@code not x is defined}
     * is {@code not (x is defined)}); Jinjava's binds like {@code !}. Each unary {@code not}
     * gets explicit parentheses up to the next {@code and}, {@code or}, {@code if},
     * {@code else}, comma or closing bracket at its own nesting level.
     */
    public static String wrapNot(String e) {
        StringBuilder out = new StringBuilder(e.length() + 16);
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int j = skipString(e, i);
                out.append(e, i, j);
                i = j;
            } else if (c == '(' || c == '[' || c == '{') {
                int close = matchingAny(e, i);
                if (close < 0) { out.append(e.substring(i)); break; }
                out.append(c).append(wrapNot(e.substring(i + 1, close))).append(e.charAt(close));
                i = close + 1;
            } else if (isWordAt(e, i, "not") && isUnaryNot(e, i)) {
                int end = notExtent(e, i + 3);
                out.append("not (").append(wrapNot(e.substring(i + 3, end)).strip()).append(')');
                if (end < e.length() && !Character.isWhitespace(e.charAt(end))) out.append(' ');
                i = end;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private static boolean isWordAt(String e, int i, String word) {
        if (!e.startsWith(word, i)) return false;
        boolean startOk = i == 0 || !isWordChar(e.charAt(i - 1));
        int after = i + word.length();
        return startOk && (after >= e.length() || !isWordChar(e.charAt(after)));
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }

    /** Unary when nothing that ends an operand precedes it, and it is not "not in". */
    private static boolean isUnaryNot(String e, int i) {
        int k = i + 3;
        while (k < e.length() && Character.isWhitespace(e.charAt(k))) k++;
        if (isWordAt(e, k, "in")) return false;
        int j = i - 1;
        while (j >= 0 && Character.isWhitespace(e.charAt(j))) j--;
        if (j < 0) return true;
        char p = e.charAt(j);
        if (isWordChar(p)) {
            int b = j;
            while (b >= 0 && isWordChar(e.charAt(b))) b--;
            return BEFORE_UNARY.contains(e.substring(b + 1, j + 1));
        }
        return !(p == ')' || p == ']' || p == '}' || p == '\'' || p == '"');
    }

    private static int notExtent(String e, int from) {
        int i = from;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') { i = skipString(e, i); continue; }
            if (c == '(' || c == '[' || c == '{') {
                int close = matchingAny(e, i);
                if (close < 0) return e.length();
                i = close + 1;
                continue;
            }
            if (c == ',' || c == ')' || c == ']' || c == '}') return i;
            if (isWordChar(c) && (i == 0 || !isWordChar(e.charAt(i - 1)))) {
                int w = i;
                while (w < e.length() && isWordChar(e.charAt(w))) w++;
                if (NOT_ENDS.contains(e.substring(i, w))) return i;
                i = w;
                continue;
            }
            i++;
        }
        return e.length();
    }

    private static int matchingAny(String e, int open) {
        int depth = 0;
        for (int i = open; i < e.length(); i++) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') { i = skipString(e, i) - 1; continue; }
            if (c == '[' || c == '(' || c == '{') depth++;
            else if (c == ']' || c == ')' || c == '}') {
                if (--depth == 0) return i;
            }
        }
        return -1;
    }

    private static boolean isSubscript(String e, int bracket) {
        int j = bracket - 1;
        while (j >= 0 && Character.isWhitespace(e.charAt(j))) j--;
        if (j < 0) return false;
        char p = e.charAt(j);
        if (p == ')' || p == ']' || p == '\'' || p == '"') return true;
        if (!(Character.isLetterOrDigit(p) || p == '_')) return false;
        // A keyword before '[' starts a list literal ("in [...]", "not [...]"), not a subscript.
        int k = j;
        while (k >= 0 && (Character.isLetterOrDigit(e.charAt(k)) || e.charAt(k) == '_')) k--;
        String word = e.substring(k + 1, j + 1);
        return !java.util.Set.of("in", "not", "and", "or", "if", "elif", "else", "is", "for", "set", "return").contains(word);
    }

    private static int matchingBracket(String e, int open) {
        int depth = 0;
        for (int i = open; i < e.length(); i++) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') { i = skipString(e, i) - 1; continue; }
            if (c == '[' || c == '(' || c == '{') depth++;
            else if (c == ']' || c == ')' || c == '}') {
                depth--;
                if (depth == 0) return c == (e.charAt(open) == '[' ? ']' : ')') ? i : -1;
            }
        }
        return -1;
    }

    private static final Pattern NAMED_ARGUMENT = Pattern.compile("^(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*=)(?!=)(.*)$", Pattern.DOTALL);

    private static String rewriteArgument(String arg) {
        Matcher m = NAMED_ARGUMENT.matcher(arg);
        if (m.matches()) return m.group(1) + "(" + rewriteExpression(m.group(2)) + ")";
        return rewriteExpression(arg);
    }

    private static List<String> splitTopLevel(String s, char separator) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') { i = skipString(s, i) - 1; continue; }
            if (c == '[' || c == '(' || c == '{') depth++;
            else if (c == ']' || c == ')' || c == '}') depth--;
            else if (c == separator && depth == 0) { parts.add(s.substring(start, i)); start = i + 1; }
        }
        parts.add(s.substring(start));
        return parts;
    }
}
