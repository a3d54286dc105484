package jlora.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * First-fit-decreasing bin packing of examples into rows of a fixed token capacity.
 *
 * <p>Examples are taken longest first (equal lengths in a seeded random order) and each goes
 * into the lowest-numbered row that still has room, opening a new row when none has. FFD never
 * uses more than 11/9·OPT + 6/9 rows (Dósa 2007). The row that has room is found in O(log rows)
 * with a max-tree over the rows' free space. The rows are then shuffled with the same seed, so
 * training does not see the long examples first. Same lengths and seed, same rows.
 */
public final class Packing {
    private Packing() {}

    /**
     * @return rows of example indices, each row's examples in the order they were placed;
     *         every index appears in exactly one row
     */
    public static List<int[]> firstFitDecreasing(int[] lengths, int capacity, long seed) {
        int n = lengths.length;
        for (int i = 0; i < n; i++) {
            if (lengths[i] > capacity || lengths[i] <= 0) {
                throw new IllegalArgumentException("example " + i + " has " + lengths[i] + " tokens; rows hold 1.." + capacity);
            }
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        Integer[] order = shuffled(n, rnd);
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> lengths[i]).reversed());  // stable: ties keep the shuffle

        int leaves = 1;
        while (leaves < Math.max(n, 1)) leaves <<= 1;
        int[] free = new int[2 * leaves];  // free[leaves + b] = room left in row b; inner nodes: max of children
        Arrays.fill(free, capacity);
        List<List<Integer>> rows = new ArrayList<>();
        for (int i : order) {
            int len = lengths[i];
            int node = 1;
            while (node < leaves) node = free[2 * node] >= len ? 2 * node : 2 * node + 1;
            int row = node - leaves;
            if (row == rows.size()) rows.add(new ArrayList<>());
            rows.get(row).add(i);
            free[node] -= len;
            for (node >>= 1; node >= 1; node >>= 1) free[node] = Math.max(free[2 * node], free[2 * node + 1]);
        }
        List<int[]> out = new ArrayList<>(rows.size());
        for (List<Integer> r : rows) out.add(r.stream().mapToInt(Integer::intValue).toArray());
        shuffleInPlace(out, rnd);
        return out;
    }

    static Integer[] shuffled(int n, SplittableRandom rnd) {
        Integer[] a = new Integer[n];
        for (int i = 0; i < n; i++) a[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            Integer t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    static <T> void shuffleInPlace(List<T> list, SplittableRandom rnd) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }
}
