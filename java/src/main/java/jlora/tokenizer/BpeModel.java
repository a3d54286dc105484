package jlora.tokenizer;

import java.util.Arrays;
import java.util.Map;

/**
 * The BPE model of tokenizer.json. A word (one pre-token) becomes symbols (bytes mapped
 * through {@link ByteLevel} for byte-level files, UTF-16 code points otherwise), then the
 * lowest-ranked adjacent pair is merged until none is left; equal ranks merge leftmost
 * first (the order HF tokenizers and transformers.js both use). Results are cached per word
 * since words repeat heavily in real text.
 */
final class BpeModel {
    enum Mode { BYTE_LEVEL, METASPACE, PLAIN }

    /**
     * One word's tokens and, per token, its [start, end) in the word's units: bytes in
     * byte-level mode, chars otherwise, counting the prefix as one unit. Byte-fallback tokens
     * of one char all carry that char's range.
     */
    record Word(int[] ids, int[] starts, int[] ends) {}

    private static final int DEAD = -2;
    private static final int CACHE_MAX_WORD = 128;

    private final Map<String, Integer> tokenToId;
    private final MergeTable merges;
    private final Mode mode;
    private final char replacement;
    private final boolean ignoreMerges;
    private final int unkId;
    private final int[] byteFallbackIds; // <0xXX> ids, null without byte_fallback
    private final int[] byteIds = new int[256]; // byte-level: id of each mapped byte char
    private final int[] bmpIds; // plain: id of each single-char token, -1 if none
    private final WordCache cache = new WordCache();

    /** Per-thread work arrays, so a cache miss allocates only its result. */
    private static final class Scratch {
        final byte[][] bytes = {new byte[64]};
        int[] ids = new int[64];
        int[] len = new int[64];
        int[] next = new int[64];
        int[] prev = new int[64];
        long[] heap = new long[64];
        final IntBuffer out = new IntBuffer(64);
        final IntBuffer starts = new IntBuffer(64);
        final IntBuffer ends = new IntBuffer(64);

        void ensure(int n) {
            if (ids.length >= n) return;
            int cap = n * 2;
            ids = new int[cap];
            len = new int[cap];
            next = new int[cap];
            prev = new int[cap];
            heap = new long[cap];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    BpeModel(Map<String, Integer> tokenToId, MergeTable merges, Mode mode, char replacement,
             boolean ignoreMerges, int unkId, boolean byteFallback) {
        this.tokenToId = tokenToId;
        this.merges = merges;
        this.mode = mode;
        this.replacement = replacement;
        this.ignoreMerges = ignoreMerges;
        this.unkId = unkId;
        for (int b = 0; b < 256; b++) {
            byteIds[b] = tokenToId.getOrDefault(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]), -1);
        }
        if (byteFallback) {
            byteFallbackIds = new int[256];
            for (int b = 0; b < 256; b++) {
                byteFallbackIds[b] = tokenToId.getOrDefault(String.format("<0x%02X>", b), -1);
            }
        } else {
            byteFallbackIds = null;
        }
        bmpIds = new int[65536];
        Arrays.fill(bmpIds, -1);
        for (Map.Entry<String, Integer> e : tokenToId.entrySet()) {
            if (e.getKey().length() == 1) bmpIds[e.getKey().charAt(0)] = e.getValue();
        }
    }

    Mode mode() {
        return mode;
    }

    int unkId() {
        return unkId;
    }

    /** Tokens of text[start, end), with a leading space / replacement char if prefixed. */
    Word encode(String text, int start, int end, boolean prefix) {
        if (end - start > CACHE_MAX_WORD) return bpe(text.substring(start, end), prefix);
        int h = WordCache.hash(text, start, end, prefix);
        Word w = cache.get(text, start, end, prefix, h);
        if (w == null) {
            String key = text.substring(start, end);
            w = bpe(key, prefix);
            cache.put(key, prefix, h, w);
        }
        return w;
    }

    private Word bpe(String word, boolean prefix) {
        Scratch sc = SCRATCH.get();
        int n;
        byte[] bytes = null;
        if (mode == Mode.BYTE_LEVEL) {
            int nb = ByteLevel.utf8(word, 0, word.length(), sc.bytes);
            bytes = sc.bytes[0];
            int off = prefix ? 1 : 0;
            n = nb + off;
            sc.ensure(n);
            if (prefix) sc.ids[0] = byteIds[' '];
            for (int i = 0; i < nb; i++) sc.ids[off + i] = byteIds[bytes[i] & 0xFF];
            Arrays.fill(sc.len, 0, n, 1);
        } else {
            sc.ensure(word.length() + 1);
            int[] ids = sc.ids;
            int[] len = sc.len;
            n = 0;
            if (prefix) {
                ids[0] = charId(replacementOr(' '));
                len[0] = 1;
                n = 1;
            }
            for (int i = 0; i < word.length(); ) {
                int cp = word.codePointAt(i);
                int k = Character.charCount(cp);
                if (k == 1) {
                    ids[n] = charId(replacementOr((char) cp));
                } else {
                    ids[n] = tokenToId.getOrDefault(word.substring(i, i + k), -1);
                }
                len[n++] = k;
                i += k;
            }
        }
        if (ignoreMerges) {
            Integer whole = tokenToId.get(mapped(word, bytes, n, prefix));
            if (whole != null) return new Word(new int[] {whole}, new int[] {0}, new int[] {sum(sc.len, n)});
        }
        merge(sc, n);
        return collect(word, sc, n, prefix);
    }

    private char replacementOr(char c) {
        return mode == Mode.METASPACE && c == ' ' ? replacement : c;
    }

    private int charId(char c) {
        return bmpIds[c];
    }

    private String mapped(String word, byte[] bytes, int n, boolean prefix) {
        StringBuilder sb = new StringBuilder(n);
        if (mode == Mode.BYTE_LEVEL) {
            if (prefix) sb.append(ByteLevel.BYTE_TO_CHAR[' ']);
            for (int i = 0; i < n - (prefix ? 1 : 0); i++) sb.append(ByteLevel.BYTE_TO_CHAR[bytes[i] & 0xFF]);
        } else {
            if (prefix) sb.append(replacementOr(' '));
            for (int i = 0; i < word.length(); i++) sb.append(replacementOr(word.charAt(i)));
        }
        return sb.toString();
    }

    private static int sum(int[] a, int n) {
        int s = 0;
        for (int i = 0; i < n; i++) s += a[i];
        return s;
    }

    /** Merges in place; merged-away symbols get id DEAD. Heap entries are rank << 32 | pos. */
    private void merge(Scratch sc, int n) {
        if (n < 2) return;
        int[] ids = sc.ids;
        int[] len = sc.len;
        int[] next = sc.next;
        int[] prev = sc.prev;
        long[] heap = sc.heap;
        int size = 0;
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        for (int i = 0; i + 1 < n; i++) {
            int r = merges.rank(ids[i], ids[i + 1]);
            if (r >= 0) {
                heap[size] = ((long) r << 32) | i;
                size = siftUp(heap, size);
            }
        }
        while (size > 0) {
            long top = heap[0];
            heap[0] = heap[--size];
            siftDown(heap, size);
            int r = (int) (top >>> 32);
            int i = (int) top;
            if (ids[i] == DEAD) continue;
            int j = next[i];
            if (j < 0 || merges.rank(ids[i], ids[j]) != r) continue; // stale entry
            ids[i] = merges.result(r);
            len[i] += len[j];
            ids[j] = DEAD;
            int k = next[j];
            next[i] = k;
            if (k >= 0) prev[k] = i;
            int p = prev[i];
            if (heap.length < size + 2) heap = sc.heap = Arrays.copyOf(heap, heap.length * 2);
            if (p >= 0) {
                int rp = merges.rank(ids[p], ids[i]);
                if (rp >= 0) {
                    heap[size] = ((long) rp << 32) | p;
                    size = siftUp(heap, size);
                }
            }
            if (k >= 0) {
                int rk = merges.rank(ids[i], ids[k]);
                if (rk >= 0) {
                    heap[size] = ((long) rk << 32) | i;
                    size = siftUp(heap, size);
                }
            }
        }
    }

    private static int siftUp(long[] h, int size) {
        int i = size;
        long v = h[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= v) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = v;
        return size + 1;
    }

    private static void siftDown(long[] h, int size) {
        if (size == 0) return;
        long v = h[0];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && h[c + 1] < h[c]) c++;
            if (h[c] >= v) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = v;
    }

    /** Live symbols in order; unknown ones become byte-fallback tokens or unk. */
    private Word collect(String word, Scratch sc, int n, boolean prefix) {
        int[] ids = sc.ids;
        int[] len = sc.len;
        IntBuffer out = sc.out;
        IntBuffer starts = sc.starts;
        IntBuffer ends = sc.ends;
        out.clear();
        starts.clear();
        ends.clear();
        int unit = 0;
        for (int i = 0; i < n; i++) {
            if (ids[i] == DEAD) continue;
            int end = unit + len[i];
            if (ids[i] >= 0) {
                out.add(ids[i]);
                starts.add(unit);
                ends.add(end);
            } else {
                // Unknown symbol: only possible in char mode, where units are chars of the word.
                int from = unit - (prefix ? 1 : 0);
                if (!fallback(word, Math.max(from, 0), end - (prefix ? 1 : 0), out, starts, ends, unit, end)) {
                    if (unkId < 0) throw new IllegalStateException("no unk_token for an unknown symbol");
                    out.add(unkId);
                    starts.add(unit);
                    ends.add(end);
                }
            }
            unit = end;
        }
        return new Word(out.toArray(), starts.toArray(), ends.toArray());
    }

    private boolean fallback(String word, int from, int to, IntBuffer out, IntBuffer starts, IntBuffer ends,
                             int unitStart, int unitEnd) {
        if (byteFallbackIds == null) return false;
        byte[][] holder = {new byte[0]};
        String piece = word.substring(from, to);
        if (mode == Mode.METASPACE) piece = piece.replace(' ', replacement);
        int nb = ByteLevel.utf8(piece, 0, piece.length(), holder);
        for (int b = 0; b < nb; b++) if (byteFallbackIds[holder[0][b] & 0xFF] < 0) return false;
        for (int b = 0; b < nb; b++) {
            out.add(byteFallbackIds[holder[0][b] & 0xFF]);
            starts.add(unitStart);
            ends.add(unitEnd);
        }
        return true;
    }
}
