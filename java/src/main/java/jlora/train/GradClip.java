package jlora.train;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Clipping by the global L2 norm over all trainable gradients, with torch's
 * {@code clip_grad_norm_} rule: {@code coef = max_norm / (norm + 1e-6)}, clamped to 1, every
 * gradient multiplied by it. The norm is accumulated in fp64 (torch accumulates fp32 grads in
 * fp32), in a fixed order, so it does not depend on thread timing.
 *
 * <p>A NaN or infinite norm is returned as is and the gradients are left untouched (torch would
 * scale them all to NaN): the trainer's NaN guard skips such a step.
 */
public final class GradClip {
    private GradClip() {}

    /** Elements per partial sum; the partials are added in index order. */
    private static final long PIECE = 1 << 16;

    public static final double EPS = 1e-6;

    /** The global L2 norm of all gradients, in fp64. */
    public static double norm(List<Param> params) {
        List<long[]> pieces = new ArrayList<>(); // {param index, from, to}
        for (int i = 0; i < params.size(); i++) {
            long n = params.get(i).numel();
            for (long from = 0; from < n; from += PIECE) pieces.add(new long[] {i, from, Math.min(n, from + PIECE)});
        }
        double[] partial = new double[pieces.size()];
        IntStream.range(0, partial.length).parallel().forEach(k -> {
            long[] pc = pieces.get(k);
            partial[k] = sumOfSquares(params.get((int) pc[0]).grad().data(), pc[1], pc[2]);
        });
        double sum = 0;
        for (double s : partial) sum += s;
        return Math.sqrt(sum);
    }

    private static double sumOfSquares(MemorySegment g, long from, long to) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        long i = from;
        for (; i + 4 <= to; i += 4) {
            double a = g.getAtIndex(Layouts.F32, i);
            double b = g.getAtIndex(Layouts.F32, i + 1);
            double c = g.getAtIndex(Layouts.F32, i + 2);
            double d = g.getAtIndex(Layouts.F32, i + 3);
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += d * d;
        }
        for (; i < to; i++) {
            double a = g.getAtIndex(Layouts.F32, i);
            s0 += a * a;
        }
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * Clips to {@code maxNorm} and returns the norm before clipping. Gradients are scaled only when
     * the norm is finite and the coefficient is below 1 (torch multiplies by the clamped 1.0 too,
     * which changes nothing).
     */
    public static double clip(List<Param> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("max grad norm must be positive: " + maxNorm);
        double norm = norm(params);
        if (!Double.isFinite(norm)) return norm;
        double coef = maxNorm / (norm + EPS);
        if (coef < 1.0) scale(params, (float) coef);
        return norm;
    }

    /** Multiplies every gradient by {@code factor} (torch: {@code g.mul_(clip_coef_clamped)} with an fp32 coefficient). */
    static void scale(List<Param> params, float factor) {
        params.parallelStream().forEach(p -> {
            MemorySegment g = p.grad().data();
            long n = p.numel();
            for (long i = 0; i < n; i++) g.setAtIndex(Layouts.F32, i, g.getAtIndex(Layouts.F32, i) * factor);
        });
    }
}
