package jlora.tokenizer;

import java.util.Arrays;

/**
 * BPE merges as an open-addressing hash from the packed pair (leftId << 32 | rightId) to its
 * rank, plus the id each rank produces. Primitive arrays: a lookup is a multiply, a shift and
 * (usually) one probe, with no boxing, which matters since every merge step does several.
 */
final class MergeTable {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final int[] ranks;
    private final int mask;
    private final int shift;
    private final int[] results;

    MergeTable(int[] left, int[] right, int[] result) {
        int n = left.length;
        int cap = Integer.highestOneBit(Math.max(4, n * 2 + 1)) << 1;
        keys = new long[cap];
        ranks = new int[cap];
        Arrays.fill(keys, EMPTY);
        mask = cap - 1;
        shift = 64 - Integer.numberOfTrailingZeros(cap);
        results = result.clone();
        for (int r = 0; r < n; r++) {
            long k = pack(left[r], right[r]);
            int slot = slot(k);
            while (keys[slot] != EMPTY && keys[slot] != k) slot = (slot + 1) & mask;
            if (keys[slot] == EMPTY) { // a repeated pair keeps its first (lowest) rank
                keys[slot] = k;
                ranks[slot] = r;
            }
        }
    }

    private static long pack(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private int slot(long k) {
        return (int) ((k * 0x9E3779B97F4A7C15L) >>> shift);
    }

    /** Rank of merging a then b, or -1 if no such merge (or either side is unknown). */
    int rank(int a, int b) {
        if (a < 0 || b < 0) return -1;
        long k = pack(a, b);
        int slot = slot(k);
        while (true) {
            long found = keys[slot];
            if (found == k) return ranks[slot];
            if (found == EMPTY) return -1;
            slot = (slot + 1) & mask;
        }
    }

    int result(int rank) {
        return results[rank];
    }
}
