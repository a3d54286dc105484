package jlora.data;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Token-length statistics of a set of examples. Median and p95 interpolate linearly between
 * the sorted values at rank q·(n−1), as numpy's default {@code percentile} does.
 *
 * @param overMax examples longer than {@code maxSeqLength}
 */
public record LengthStats(int count, int min, int max, double mean, double median, double p95, int overMax, int maxSeqLength) {

    public static LengthStats of(int[] lengths, int maxSeqLength) {
        int n = lengths.length;
        if (n == 0) return new LengthStats(0, 0, 0, 0, 0, 0, 0, maxSeqLength);
        int[] s = lengths.clone();
        Arrays.sort(s);
        long sum = 0;
        int over = 0;
        for (int l : s) {
            sum += l;
            if (l > maxSeqLength) over++;
        }
        return new LengthStats(n, s[0], s[n - 1], (double) sum / n, quantile(s, 0.5), quantile(s, 0.95), over, maxSeqLength);
    }

    static double quantile(int[] sorted, double q) {
        double rank = q * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", count);
        m.put("min", min);
        m.put("max", max);
        m.put("mean", mean);
        m.put("median", median);
        m.put("p95", p95);
        m.put("over_max_seq_length", overMax);
        return m;
    }

    public String line() {
        return String.format("count %d  min %d  max %d  mean %.1f  median %.1f  p95 %.1f  over %d: %d",
                count, min, max, mean, median, p95, maxSeqLength, overMax);
    }
}
