package jlora.tokenizer.jinja;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.util.ForLoop;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code loop.previtem} and {@code loop.nextitem}, which Jinja2 has and Jinjava's loop object
 * lacks. Before each node inside a for loop renders, the first time a loop object is seen its
 * iterable expression is evaluated once more and kept as a list; the two properties then read
 * the neighbours of {@code loop.index0}. Chat templates iterate plain lists, so evaluating the
 * iterable twice is safe (the sandbox has no side effects). Loops with an {@code if} filter or
 * {@code recursive} are left out: there the properties are undefined (none).
 */
final class LoopItems {
    private LoopItems() {}

    private static final ThreadLocal<Map<ForLoop, List<Object>>> ITEMS = ThreadLocal.withInitial(IdentityHashMap::new);
    private static final Pattern FOR_HELPERS = Pattern.compile("^\\s*[A-Za-z_][\\w\\s,]*?\\s+in\\s+(.+?)\\s*$", Pattern.DOTALL);

    static void beforeNode(Node node, JinjavaInterpreter interpreter) {
        if (!(interpreter.getContext().get("loop") instanceof ForLoop loop)) return;
        Map<ForLoop, List<Object>> items = ITEMS.get();
        if (items.containsKey(loop)) return;
        items.put(loop, null);
        TagNode forTag = enclosingFor(node);
        if (forTag == null) return;
        Matcher m = FOR_HELPERS.matcher(forTag.getHelpers());
        if (!m.matches() || m.group(1).matches("(?s).*\\s(if|recursive)\\s.*|.*\\srecursive$")) return;
        Object iterable = interpreter.resolveELExpression(m.group(1), forTag.getLineNumber());
        List<Object> list = new ArrayList<>();
        if (iterable instanceof Map<?, ?> map) list.addAll(map.keySet());
        else if (iterable instanceof Iterable<?> it) it.forEach(list::add);
        else if (iterable instanceof String s) s.codePoints().forEach(cp -> list.add(new String(Character.toChars(cp))));
        else return;
        items.put(loop, list);
    }

    private static TagNode enclosingFor(Node node) {
        for (Node n = node.getParent(); n != null; n = n.getParent()) {
            if (n instanceof TagNode t && t.getName().equals("for")) return t;
        }
        return null;
    }

    /** The item {@code offset} places from the current one, or null past either end. */
    static Object neighbour(ForLoop loop, int offset) {
        List<Object> list = ITEMS.get().get(loop);
        if (list == null) return null;
        int i = loop.getIndex0() + offset;
        return i >= 0 && i < list.size() ? list.get(i) : null;
    }

    static void clear() {
        ITEMS.remove();
    }
}
