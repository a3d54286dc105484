package jlora.tokenizer.jinja;

import com.hubspot.jinjava.util.ForLoop;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Gives template expressions Python's behaviour where Hugging Face chat templates rely on it,
 * and is the sandbox's gate: it runs ahead of Jinjava's own resolvers, answers slices, string
 * indexing and the str / dict methods templates call, and refuses every other method call on
 * template data (strings, dicts, lists, numbers, the loop object), so no Java method
 * (getClass, getBytes, ...) is reachable through them. Calls on Jinjava's own objects (filter
 * chains, macros, loop.cycle) go on to Jinjava, whose resolver restricts them in turn.
 */
public final class PythonResolver extends ELResolver {

    @Override
    public Object getValue(ELContext ctx, Object base, Object property) {
        PySlice slice = PySlice.parse(property);
        if (slice != null) {
            if (base instanceof List<?> list) return resolved(ctx, slice.apply(new ArrayList<Object>(list)));
            if (base instanceof String s) return resolved(ctx, slice.apply(s));
            throw new ELException("cannot slice " + typeName(base));
        }
        if (base instanceof ForLoop loop && ("previtem".equals(property) || "nextitem".equals(property))) {
            return resolved(ctx, LoopItems.neighbour(loop, "previtem".equals(property) ? -1 : 1));
        }
        if (base instanceof String s && (property instanceof Number || isInteger(property))) {
            int[] cps = s.codePoints().toArray();
            long i = Long.parseLong(property.toString());
            if (i < 0) i += cps.length;
            if (i < 0 || i >= cps.length) throw new ELException("string index out of range");
            return resolved(ctx, new String(cps, (int) i, 1));
        }
        return null;
    }

    @Override
    public Object invoke(ELContext ctx, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (base == null || method == null) return null;
        String name = method.toString();
        Object[] args = params == null ? new Object[0] : params;
        Object result;
        if (base instanceof String s) result = stringMethod(s, name, args);
        else if (base instanceof Map<?, ?> m) result = mapMethod(m, name, args);
        else if (base instanceof Collection<?> || base instanceof Number || base instanceof Boolean || base instanceof Object[]) {
            throw new ELException("'" + typeName(base) + "' object has no method '" + name + "' a template may call");
        } else if (base instanceof ForLoop && !name.equals("cycle")) {
            throw new ELException("the loop object has no method '" + name + "' a template may call");
        } else {
            return null;  // Jinjava's own objects (filters, macros): its resolver applies its restrictions
        }
        return resolved(ctx, result);
    }

    private static Object stringMethod(String s, String name, Object[] a) {
        return switch (name) {
            case "strip" -> PythonStrings.strip(s, str(a, 0), true, true);
            case "lstrip" -> PythonStrings.strip(s, str(a, 0), true, false);
            case "rstrip" -> PythonStrings.strip(s, str(a, 0), false, true);
            case "split" -> PythonStrings.split(s, str(a, 0), a.length > 1 ? num(a[1]) : -1);
            case "startswith" -> affix(s, a, true);
            case "endswith" -> affix(s, a, false);
            case "replace" -> PythonStrings.replace(s, str(a, 0), str(a, 1), a.length > 2 ? num(a[2]) : -1);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> PythonStrings.title(s);
            case "capitalize" -> PythonStrings.capitalize(s);
            case "find" -> (long) codePointIndex(s, s.indexOf(str(a, 0)));
            case "rfind" -> (long) codePointIndex(s, s.lastIndexOf(str(a, 0)));
            case "count" -> (long) PythonStrings.count(s, str(a, 0));
            case "join" -> join(s, a.length > 0 ? a[0] : null);
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isspace" -> !s.isEmpty() && s.codePoints().allMatch(PythonStrings::isSpace);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            default -> throw new ELException("'str' object has no method '" + name + "' a template may call");
        };
    }

    private static Object mapMethod(Map<?, ?> m, String name, Object[] a) {
        return switch (name) {
            case "items" -> new ArrayList<>(m.entrySet());
            case "keys" -> new ArrayList<>(m.keySet());
            case "values" -> new ArrayList<>(m.values());
            case "get" -> m.containsKey(a[0]) ? m.get(a[0]) : (a.length > 1 ? a[1] : null);
            default -> throw new ELException("'dict' object has no method '" + name + "' a template may call");
        };
    }

    private static boolean affix(String s, Object[] a, boolean prefix) {
        if (a.length == 0) throw new ELException((prefix ? "startswith" : "endswith") + " takes a string or a tuple");
        Iterable<?> options = a[0] instanceof Collection<?> c ? c : List.of(a[0]);
        for (Object o : options) {
            String p = String.valueOf(o);
            if (prefix ? s.startsWith(p) : s.endsWith(p)) return true;
        }
        return false;
    }

    private static String join(String sep, Object items) {
        if (!(items instanceof Iterable<?> it)) throw new ELException("join expects a list of strings");
        StringBuilder sb = new StringBuilder();
        for (Iterator<?> i = it.iterator(); i.hasNext(); ) {
            sb.append(i.next());
            if (i.hasNext()) sb.append(sep);
        }
        return sb.toString();
    }

    private static boolean isInteger(Object o) {
        return o instanceof String s && s.matches("-?\\d{1,18}");
    }

    private static int codePointIndex(String s, int utf16) {
        return utf16 < 0 ? -1 : s.codePointCount(0, utf16);
    }

    private static String str(Object[] a, int i) {
        return i < a.length && a[i] != null ? a[i].toString() : null;
    }

    private static long num(Object o) {
        if (o instanceof Number n) return n.longValue();
        throw new ELException("expected an integer, got " + o);
    }

    private static Object resolved(ELContext ctx, Object value) {
        ctx.setPropertyResolved(true);
        return value;
    }

    static String typeName(Object o) {
        if (o instanceof String) return "str";
        if (o instanceof Map) return "dict";
        if (o instanceof List) return "list";
        if (o instanceof Number) return "number";
        if (o instanceof Boolean) return "bool";
        return "object";
    }

    @Override public Class<?> getType(ELContext ctx, Object base, Object property) { return null; }
    @Override public void setValue(ELContext ctx, Object base, Object property, Object value) {}
    @Override public boolean isReadOnly(ELContext ctx, Object base, Object property) { return true; }
    @Override public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext ctx, Object base) { return null; }
    @Override public Class<?> getCommonPropertyType(ELContext ctx, Object base) { return null; }
}
