package jlora.train;

import java.util.SplittableRandom;

/**
 * The order micro-batches are visited in each epoch: a Fisher–Yates shuffle from a
 * SplittableRandom seeded by (seed, epoch) when data.shuffle is on, file order otherwise. A
 * function of its arguments only, so a resumed run recomputes the same order from the cursor.
 */
final class DataOrder {
    private DataOrder() {}

    static int[] of(int batches, long seed, int epoch, boolean shuffle) {
        int[] order = new int[batches];
        for (int i = 0; i < batches; i++) order[i] = i;
        if (!shuffle) return order;
        // SplitMix64's golden-ratio increment separates the epochs' streams.
        SplittableRandom rnd = new SplittableRandom(seed + 0x9E3779B97F4A7C15L * (epoch + 1));
        for (int i = batches - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
