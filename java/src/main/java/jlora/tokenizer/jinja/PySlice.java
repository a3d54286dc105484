package jlora.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * A Python slice {@code [start:stop:step]}. {@link TemplateRewriter} turns each slice subscript
 * in a template into {@code [py_slice(start, stop, step)]}, and {@link PythonResolver} applies
 * the resulting object to lists and strings with CPython's index rules (negative indices count
 * from the end, out-of-range bounds clamp, a negative step walks backwards).
 */
public record PySlice(Long start, Long stop, Long step) {

    /**
     * Jinjava hands a subscript to resolvers as {@code String.valueOf(key)}, so the slice
     * travels as this text: a private-use character no dict key in a chat holds, then the bounds.
     */
    private static final String MARK = "\uE000slice:";

    @Override
    public String toString() {
        return MARK + start + ":" + stop + ":" + step;
    }

    /** The slice a subscript key stands for, or null when it is an ordinary key. */
    static PySlice parse(Object key) {
        if (key instanceof PySlice s) return s;
        if (!(key instanceof String str) || !str.startsWith(MARK)) return null;
        String[] parts = str.substring(MARK.length()).split(":", -1);
        return new PySlice(bound(parts[0]), bound(parts[1]), bound(parts[2]));
    }

    private static Long bound(String s) {
        return s.equals("null") ? null : Long.valueOf(s);
    }

    public static PySlice of(Object start, Object stop, Object step) {
        return new PySlice(toLong(start), toLong(stop), toLong(step));
    }

    private static Long toLong(Object o) {
        if (o == null) return null;
        if (o instanceof Number n) return n.longValue();
        throw new IllegalArgumentException("slice indices must be integers or none, got " + o);
    }

    /** The selected indices for a sequence of {@code length}, following PySlice_AdjustIndices. */
    public int[] indices(int length) {
        long st = step == null ? 1 : step;
        if (st == 0) throw new IllegalArgumentException("slice step cannot be zero");
        long lo, hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(start, length, 0, length);
            hi = stop == null ? length : clamp(stop, length, 0, length);
        } else {
            lo = start == null ? length - 1 : clamp(start, length, -1, length - 1);
            hi = stop == null ? -1 : clamp(stop, length, -1, length - 1);
        }
        List<Integer> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) out.add((int) i);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static long clamp(long i, int length, long min, long max) {
        if (i < 0) i += length;
        return Math.max(min, Math.min(max, i));
    }

    public <T> List<T> apply(List<T> list) {
        List<T> out = new ArrayList<>();
        for (int i : indices(list.size())) out.add(list.get(i));
        return out;
    }

    /** Slices by code point, as Python strings index characters, not UTF-16 units. */
    public String apply(String s) {
        int[] cps = s.codePoints().toArray();
        StringBuilder sb = new StringBuilder();
        for (int i : indices(cps.length)) sb.appendCodePoint(cps[i]);
        return sb.toString();
    }
}
