package jlora.eval;

import java.util.Arrays;
import java.util.List;

/**
 * Request latencies of one evaluation: mean, p50 and p95 in milliseconds, and decode throughput
 * = all completion tokens / all generation time (tokens per second of wall clock, prompt
 * processing included, as a user waiting for answers sees it).
 */
public record LatencyStats(int requests, double meanMs, double p50Ms, double p95Ms, double tokensPerSecond) {

    public static LatencyStats of(double[] latenciesMs, long completionTokens) {
        if (latenciesMs.length == 0) return new LatencyStats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        double sum = 0;
        for (double l : latenciesMs) sum += l;
        double tps = sum > 0 ? completionTokens / (sum / 1000.0) : Double.NaN;
        return new LatencyStats(latenciesMs.length, sum / latenciesMs.length, percentile(latenciesMs, 50),
                percentile(latenciesMs, 95), tps);
    }

    /**
     * The q-th percentile with linear interpolation between closest ranks (numpy's default
     * "linear" method, Hyndman and Fan type 7): on the sorted values x, h = (n - 1) q / 100 and
     * the result is x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
     */
    public static double percentile(double[] values, double q) {
        if (values.length == 0) throw new IllegalArgumentException("no values");
        if (q < 0 || q > 100) throw new IllegalArgumentException("percentile " + q + " outside [0, 100]");
        double[] x = values.clone();
        Arrays.sort(x);
        double h = (x.length - 1) * q / 100.0;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, x.length - 1);
        return x[lo] + (h - lo) * (x[hi] - x[lo]);
    }

    static LatencyStats fromList(List<Double> ms, long completionTokens) {
        return of(ms.stream().mapToDouble(Double::doubleValue).toArray(), completionTokens);
    }
}
