package jlora.data;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Several files read as one stream with per-file weights (up- and down-sampling). A file of
 * n valid examples with weight w yields exactly {@code floor(w)*n + round(frac(w)*n)}
 * examples: every example floor(w) times, and a seeded subset of round(frac(w)*n) distinct
 * examples once more. Counting n is a first streaming pass, so no file is held in memory;
 * the subset is one bit per example. Files come out in the order given, each in file order:
 * shuffling is the split's job.
 *
 * <p>The first pass counts examples the reader accepts; an example the {@code check} rejects
 * in the second pass (too long) is dropped where it would have appeared.
 */
public final class DataMix {
    private DataMix() {}

    public static void read(List<DataSource> sources, long seed, ExampleCheck check, ValidationReport report, Consumer<Example> out) {
        for (int f = 0; f < sources.size(); f++) {
            DataSource s = sources.get(f);
            if (s.weight() == 1.0) {
                DataFile.read(s.file(), s.options(), check, report, out);
                continue;
            }
            long whole = (long) Math.floor(s.weight());
            double frac = s.weight() - whole;
            long n = DataFile.count(s.file(), s.options());
            BitSet extra = sample(n, Math.round(frac * n), new SplittableRandom(mixSeed(seed, f)));
            long[] index = {0};
            DataFile.read(s.file(), s.options(), check, report, e -> {
                long i = index[0]++;
                long times = whole + (i < n && extra.get((int) i) ? 1 : 0);
                for (long t = 0; t < times; t++) out.accept(e);
            });
        }
    }

    /** A row read once, with the index of the source it came from (for {@link #weigh}). */
    public record Row<T>(int source, T value) {}

    /**
     * Reads every source once, weights aside (a weight-0 source is left out), tagging each row
     * with its source. Split these, then {@link #weigh} the training part only: weighting before
     * the split would put copies of one row on both sides of it.
     */
    public static <T> List<Row<T>> readOnce(List<DataSource> sources, ExampleCheck check, ValidationReport report,
                                            Function<Example, T> map) {
        List<Row<T>> out = new ArrayList<>();
        for (int f = 0; f < sources.size(); f++) {
            DataSource s = sources.get(f);
            if (s.weight() == 0) continue;
            int source = f;
            DataFile.read(s.file(), s.options(), check, report, e -> out.add(new Row<>(source, map.apply(e))));
        }
        return out;
    }

    /**
     * The sources' weights applied to rows read once: a source with n rows here and weight w
     * gives {@link #expectedCount}(n, w) rows, every row floor(w) times and a seeded subset of
     * round(frac(w)*n) distinct rows once more, in the order given.
     */
    public static <T> List<T> weigh(List<Row<T>> rows, List<DataSource> sources, long seed) {
        int[] perSource = new int[sources.size()];
        for (Row<T> r : rows) perSource[r.source()]++;
        BitSet[] extra = new BitSet[sources.size()];
        for (int f = 0; f < sources.size(); f++) {
            double w = sources.get(f).weight();
            long n = perSource[f];
            extra[f] = sample(n, Math.round((w - Math.floor(w)) * n), new SplittableRandom(mixSeed(seed, f)));
        }
        int[] seen = new int[sources.size()];
        List<T> out = new ArrayList<>();
        for (Row<T> r : rows) {
            int f = r.source();
            long times = (long) Math.floor(sources.get(f).weight()) + (extra[f].get(seen[f]++) ? 1 : 0);
            for (long t = 0; t < times; t++) out.add(r.value());
        }
        return out;
    }

    /** The values of rows read once, unweighted (eval and test splits). */
    public static <T> List<T> values(List<Row<T>> rows) {
        return rows.stream().map(Row::value).toList();
    }

    /** Expected example count of a source with n valid examples. */
    public static long expectedCount(long n, double weight) {
        long whole = (long) Math.floor(weight);
        return whole * n + Math.round((weight - whole) * n);
    }

    /**
     * k distinct indices of [0, n) by Floyd's algorithm (Bentley, "Programming Pearls", col. 12):
     * O(k) draws, each subset equally likely.
     */
    static BitSet sample(long n, long k, SplittableRandom rnd) {
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("more than 2^31 examples in one file");
        BitSet chosen = new BitSet((int) n);
        for (long j = n - k; j < n; j++) {
            int t = rnd.nextInt((int) j + 1);
            chosen.set(chosen.get(t) ? (int) j : t);
        }
        return chosen;
    }

    /** Per-file seeds that differ for every file and mix seed (SplitMix64's golden-ratio step). */
    static long mixSeed(long seed, int file) {
        return seed ^ (0x9E3779B97F4A7C15L * (file + 1));
    }
}
