package jlora.data;

import jlora.backend.Backend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Packed and bucketed batches against the examples they came from. Every example gets ids
 * that name it ({@code 1000·example + position}), so reading a batch back identifies each
 * token: the oracle is the input list itself. Checked: every token of every example appears
 * exactly once and in order; position ids restart at 0 per example; the attention segments
 * {@code Backend.segmentIdsFromPositions} derives are exactly the examples; the cross-entropy
 * target at each example's last token is IGNORE; rows respect the capacity; same seed, same
 * batches.
 */
class PackingTest {
    private static final int PAD = 7;

    static List<TokenizedExample> randomExamples(Random r, int n, int maxLen) {
        List<TokenizedExample> out = new ArrayList<>();
        for (int e = 0; e < n; e++) {
            int len = 1 + r.nextInt(r.nextInt(4) == 0 ? maxLen : Math.max(1, maxLen / 4));
            int[] ids = new int[len];
            int[] labels = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = 1000 * (e + 1) + t;
                labels[t] = t > 0 && r.nextBoolean() ? ids[t] : TokenizedExample.IGNORE;
            }
            out.add(new TokenizedExample(ids, labels, "s", "f:" + e, len, 0));
        }
        return out;
    }

    /** Splits every row back into (example index, its tokens) by the positions, checking each piece. */
    static void checkBatches(List<TokenizedExample> examples, List<Batch> batches, int capacity, String where) {
        int[] seen = new int[examples.size()];
        for (Batch b : batches) {
            assertTrue(b.length() <= capacity, where + ": row length " + b.length() + " > " + capacity);
            int[] targets = b.targets();
            for (int r = 0; r < b.rows(); r++) {
                int[] ids = b.row(b.ids(), r);
                int[] pos = b.row(b.positions(), r);
                int[] labels = b.row(b.labels(), r);
                int[] seg = Backend.segmentIdsFromPositions(pos);
                int t = 0;
                while (t < b.length()) {
                    assertEquals(0, pos[t], where + ": a segment must start at position 0, row " + r + " col " + t);
                    if (ids[t] == PAD) {  // padding runs to the row's end as its own segment
                        for (int k = t; k < b.length(); k++) {
                            assertEquals(PAD, ids[k], where + ": token after padding, row " + r + " col " + k);
                            assertEquals(TokenizedExample.IGNORE, labels[k], where + ": padding label");
                            assertEquals(k - t, pos[k], where + ": padding positions");
                            assertEquals(seg[t], seg[k], where + ": padding segment");
                        }
                        break;
                    }
                    int e = ids[t] / 1000 - 1;
                    TokenizedExample ex = examples.get(e);
                    seen[e]++;
                    int len = ex.length();
                    assertTrue(t + len <= b.length(), where + ": example " + e + " cut at the row end");
                    assertArrayEquals(ex.ids(), Arrays.copyOfRange(ids, t, t + len), where + ": example " + e + " ids");
                    assertArrayEquals(ex.labels(), Arrays.copyOfRange(labels, t, t + len), where + ": example " + e + " labels");
                    for (int k = 0; k < len; k++) {
                        assertEquals(k, pos[t + k], where + ": example " + e + " position " + k);
                        assertEquals(seg[t], seg[t + k], where + ": example " + e + " split over segments");
                    }
                    if (t > 0) assertTrue(seg[t] != seg[t - 1], where + ": example " + e + " shares a segment with its predecessor");
                    // The last token of an example must not be trained to predict the next example's first.
                    assertEquals(TokenizedExample.IGNORE, targets[r * b.length() + t + len - 1], where + ": target after example " + e);
                    t += len;
                }
            }
        }
        for (int e = 0; e < seen.length; e++) assertEquals(1, seen[e], where + ": example " + e + " appears " + seen[e] + " times");
    }

    @Test
    void packedRowsHoldEveryExampleOnceWithRestartingPositions() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 20; trial++) {
            int capacity = 8 + r.nextInt(120);
            List<TokenizedExample> ex = randomExamples(r, 1 + r.nextInt(200), capacity);
            int rows = 1 + r.nextInt(4);
            long packSeed = r.nextLong();
            String where = "seed " + seed + " trial " + trial + " capacity " + capacity;
            List<Batch> batches = Batches.packed(ex, capacity, rows, PAD, packSeed);
            checkBatches(ex, batches, capacity, where);
            long total = ex.stream().mapToLong(TokenizedExample::length).sum();
            long rowCount = batches.stream().mapToLong(Batch::rows).sum();
            assertTrue(rowCount >= (total + capacity - 1) / capacity, where);
            // First fit: no two rows could have been one row (else FFD would have filled the first).
            List<int[]> packs = Packing.firstFitDecreasing(ex.stream().mapToInt(TokenizedExample::length).toArray(), capacity, packSeed);
            int[] fill = packs.stream().mapToInt(p -> Arrays.stream(p).map(i -> ex.get(i).length()).sum()).sorted().toArray();
            if (fill.length >= 2) assertTrue(fill[0] + fill[1] > capacity, where + ": two rows " + fill[0] + "+" + fill[1] + " fit in one");
            assertEqualBatches(batches, Batches.packed(ex, capacity, rows, PAD, packSeed), where + ": same seed");
        }
    }

    @Test
    void bucketedBatchesPadEachExampleAndGroupSimilarLengths() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 20; trial++) {
            List<TokenizedExample> ex = randomExamples(r, 1 + r.nextInt(150), 200);
            int rows = 1 + r.nextInt(8);
            long bucketSeed = r.nextLong();
            String where = "seed " + seed + " trial " + trial;
            List<Batch> batches = Batches.bucketed(ex, rows, PAD, bucketSeed);
            checkBatches(ex, batches, Integer.MAX_VALUE, where);
            // Length buckets: sorted by their shortest example, batches never interleave in length.
            List<int[]> ranges = new ArrayList<>();
            for (Batch b : batches) {
                int lo = Integer.MAX_VALUE;
                int hi = 0;
                for (int row = 0; row < b.rows(); row++) {
                    int len = ex.get(b.row(b.ids(), row)[0] / 1000 - 1).length();
                    lo = Math.min(lo, len);
                    hi = Math.max(hi, len);
                }
                assertEquals(hi, b.length(), where + ": batch as long as its longest example");
                ranges.add(new int[] {lo, hi});
            }
            ranges.sort((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
            for (int k = 1; k < ranges.size(); k++) {
                assertTrue(ranges.get(k - 1)[1] <= ranges.get(k)[0], where + ": buckets overlap " + Arrays.toString(ranges.get(k - 1))
                        + " " + Arrays.toString(ranges.get(k)));
            }
            assertEqualBatches(batches, Batches.bucketed(ex, rows, PAD, bucketSeed), where + ": same seed");
        }
    }

    private static void assertEqualBatches(List<Batch> a, List<Batch> b, String where) {
        assertEquals(a.size(), b.size(), where);
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i).ids(), b.get(i).ids(), where + " batch " + i);
            assertArrayEquals(a.get(i).labels(), b.get(i).labels(), where + " batch " + i);
            assertArrayEquals(a.get(i).positions(), b.get(i).positions(), where + " batch " + i);
        }
    }

    @Test
    void splitIsADeterministicPartition() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 20; trial++) {
            int n = r.nextInt(300);
            List<Integer> items = new ArrayList<>();
            for (int i = 0; i < n; i++) items.add(i);
            double[] f = DataSplit.parseFractions("0.8,0.1,0.1");
            long s = r.nextLong();
            DataSplit<Integer> split = DataSplit.of(items, f, s);
            String where = "seed " + seed + " trial " + trial + " n " + n;
            assertEquals(Math.round(0.1 * n), split.eval().size(), where);
            assertEquals(Math.round(0.1 * n), split.test().size(), where);
            List<Integer> all = new ArrayList<>(split.train());
            all.addAll(split.eval());
            all.addAll(split.test());
            all.sort(null);
            assertEquals(items, all, where + ": not a partition");
            assertEquals(split, DataSplit.of(items, f, s), where + ": same seed");
        }
    }

    /**
     * Length statistics against their definitions, computed another way: mean as a sum over the
     * unsorted input; median and p95 bracketed by order statistics (numpy's linear rule puts
     * quantile q between the values of rank floor and ceil of q·(n−1)).
     */
    @Test
    void lengthStatsMatchTheirDefinitions() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 50; trial++) {
            int n = 1 + r.nextInt(100);
            int[] len = new int[n];
            for (int i = 0; i < n; i++) len[i] = 1 + r.nextInt(500);
            int max = 1 + r.nextInt(500);
            LengthStats s = LengthStats.of(len, max);
            String where = "seed " + seed + " trial " + trial;
            assertEquals(n, s.count(), where);
            assertEquals(Arrays.stream(len).min().getAsInt(), s.min(), where);
            assertEquals(Arrays.stream(len).max().getAsInt(), s.max(), where);
            assertEquals(Arrays.stream(len).asDoubleStream().sum() / n, s.mean(), 1e-9, where);
            assertEquals(Arrays.stream(len).filter(l -> l > max).count(), s.overMax(), where);
            for (double q : new double[] {0.5, 0.95}) {
                double v = q == 0.5 ? s.median() : s.p95();
                double rank = q * (n - 1);
                long below = Arrays.stream(len).filter(l -> l < v).count();
                long atOrBelow = Arrays.stream(len).filter(l -> l <= v).count();
                assertTrue(below <= Math.ceil(rank) && atOrBelow >= Math.floor(rank) + 1,
                        where + ": q " + q + " value " + v + " has " + below + " below, " + atOrBelow + " at or below, rank " + rank);
            }
            if (n % 2 == 1) {
                int[] sorted = len.clone();
                Arrays.sort(sorted);
                assertEquals(sorted[n / 2], s.median(), 0, where + ": odd n median is the middle value");
            }
        }
    }

    /** Histogram bins against the definition: equal width, every length in bin floor(l / width), the top length inside. */
    @Test
    void histogramBinsCountEveryLengthOnce() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        for (int trial = 0; trial < 30; trial++) {
            int n = 1 + r.nextInt(300);
            int[] len = new int[n];
            for (int i = 0; i < n; i++) len[i] = 1 + r.nextInt(1 + r.nextInt(5000));
            int max = 2 + r.nextInt(4000);
            int[] width = new int[1];
            int[] counts = LengthHistogram.counts(len, max, width);
            String where = "seed " + seed + " trial " + trial;
            assertTrue(counts.length <= LengthHistogram.BINS, where + ": " + counts.length + " bins");
            int[] expected = new int[counts.length];
            for (int l : len) expected[l / width[0]]++;
            assertArrayEquals(expected, counts, where);
            assertTrue((long) counts.length * width[0] > Math.max(max, Arrays.stream(len).max().getAsInt()), where + ": top not covered");
        }
    }
}
