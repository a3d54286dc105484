package jlora.tokenizer;

/**
 * BPE merges as an open-addressing hash from the packed pair (leftId << 32 | rightId) to
 * (rank << 32 | resultId). Key and value sit side by side in one long[] so a probe touches
 * one cache line: BPE on uncached words is bound by these random probes (Llama 3's table
 * has 280k merges, ~8 MiB), so primitive, interleaved storage matters more than the hash.
 */
final class MergeTable {
    private static final long EMPTY = -1L;
    private final long[] table; // [2*slot] = key, [2*slot + 1] = rank << 32 | result
    private final int mask;
    private final int shift;

    MergeTable(int[] left, int[] right, int[] result) {
        int n = left.length;
        int cap = Integer.highestOneBit(Math.max(4, n * 2 + 1)) << 1;
        table = new long[cap * 2];
        for (int s = 0; s < cap; s++) table[2 * s] = EMPTY;
        mask = cap - 1;
        shift = 64 - Integer.numberOfTrailingZeros(cap);
        for (int r = 0; r < n; r++) {
            if (result[r] < 0) continue; // can never fire (see TokenizerLoader.merges)
            long k = pack(left[r], right[r]);
            int slot = slot(k);
            while (table[2 * slot] != EMPTY && table[2 * slot] != k) slot = (slot + 1) & mask;
            if (table[2 * slot] == EMPTY) { // a repeated pair keeps its first (lowest) rank
                table[2 * slot] = k;
                table[2 * slot + 1] = ((long) r << 32) | (result[r] & 0xffffffffL);
            }
        }
    }

    private static long pack(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private int slot(long k) {
        return (int) ((k * 0x9E3779B97F4A7C15L) >>> shift);
    }

    /** rank << 32 | resultId of merging a then b, or -1 if no such merge (or a side is unknown). */
    long find(int a, int b) {
        if (a < 0 || b < 0) return -1;
        long k = pack(a, b);
        int slot = slot(k);
        while (true) {
            long found = table[2 * slot];
            if (found == k) return table[2 * slot + 1];
            if (found == EMPTY) return -1;
            slot = (slot + 1) & mask;
        }
    }

    /** Rank of merging a then b, or -1. */
    int rank(int a, int b) {
        long f = find(a, b);
        return f < 0 ? -1 : (int) (f >>> 32);
    }
}
