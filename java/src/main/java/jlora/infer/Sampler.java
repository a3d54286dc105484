package jlora.infer;

import java.util.Arrays;
import java.util.BitSet;
import java.util.SplittableRandom;
import jlora.UserError;

/**
 * Picks the next token from one row of logits the way transformers' {@code generate} does:
 * the processors run in the order {@code _get_logits_processor} builds them — repetition
 * penalty, then (sampling only) temperature, top-k, top-p, min-p — and the token is drawn from
 * the softmax of what survives. Temperature 0 is greedy: argmax after the repetition penalty,
 * as greedy search applies processors but no warpers. Arithmetic is fp64 over fp32 logits.
 *
 * <p>One sampler per generated sequence: the RNG is a {@link SplittableRandom} seeded from
 * {@link SamplingParams#seed()}, so the same seed, model and prompt give the same tokens.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        check(params);
        this.params = params;
        this.random = new SplittableRandom(params.seed() != null ? params.seed() : new SplittableRandom().nextLong());
    }

    /** @param seen every token id of the context so far (prompt and generated), for the repetition penalty */
    public int next(float[] logits, BitSet seen) {
        if (params.temperature() == 0) return argmax(penalized(logits, seen));
        double[] p = probabilities(logits, seen);
        double u = random.nextDouble();
        double acc = 0;
        int last = -1;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) continue;
            acc += p[i];
            last = i;
            if (u < acc) return i;
        }
        return last; // u landed in the rounding slack above the summed mass
    }

    /**
     * The distribution {@link #next} draws from when sampling: softmax over the processed
     * logits, exactly 0 for filtered tokens. Package-private for the oracle test.
     */
    double[] probabilities(float[] logits, BitSet seen) {
        double[] s = penalized(logits, seen);
        double t = params.temperature();
        if (t != 1) for (int i = 0; i < s.length; i++) s[i] /= t;
        if (params.topK() > 0) topK(s, params.topK());
        if (params.topP() < 1) topP(s, params.topP());
        if (params.minP() > 0) minP(s, params.minP());
        return softmax(s);
    }

    /**
     * transformers' RepetitionPenaltyLogitsProcessor (CTRL, Keskar et al. 2019): each token seen
     * in the context has its logit divided by the penalty if positive, multiplied if negative.
     */
    private double[] penalized(float[] logits, BitSet seen) {
        double[] s = new double[logits.length];
        for (int i = 0; i < s.length; i++) s[i] = logits[i];
        double r = params.repetitionPenalty();
        if (r != 1 && seen != null) {
            for (int i = seen.nextSetBit(0); i >= 0 && i < s.length; i = seen.nextSetBit(i + 1)) {
                s[i] = s[i] < 0 ? s[i] * r : s[i] / r;
            }
        }
        return s;
    }

    /** TopKLogitsWarper: drop scores below the k-th largest (ties with it survive). */
    private static void topK(double[] s, int k) {
        if (k >= s.length) return;
        double[] sorted = s.clone();
        Arrays.sort(sorted);
        double kth = sorted[s.length - k];
        for (int i = 0; i < s.length; i++) if (s[i] < kth) s[i] = Double.NEGATIVE_INFINITY;
    }

    /**
     * TopPLogitsWarper: sort ascending, drop the tokens whose cumulative probability is
     * {@code <= 1 - p}; the largest always survives (min_tokens_to_keep = 1). Ties are ordered
     * by index, as a stable sort would.
     */
    private static void topP(double[] s, double p) {
        Integer[] order = ascending(s);
        double[] probs = softmax(s);
        double cum = 0;
        for (int j = 0; j < order.length - 1; j++) {
            cum += probs[order[j]];
            if (cum <= 1 - p) s[order[j]] = Double.NEGATIVE_INFINITY;
        }
    }

    /** MinPLogitsWarper: drop tokens whose probability is below minP times the top probability. */
    private static void minP(double[] s, double minP) {
        double[] probs = softmax(s);
        double top = 0;
        int best = 0;
        for (int i = 0; i < probs.length; i++) if (probs[i] > top) { top = probs[i]; best = i; }
        double cut = minP * top;
        for (int i = 0; i < s.length; i++) if (i != best && probs[i] < cut) s[i] = Double.NEGATIVE_INFINITY;
    }

    private static Integer[] ascending(double[] s) {
        Integer[] order = new Integer[s.length];
        for (int i = 0; i < s.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(s[a], s[b]));
        return order;
    }

    static double[] softmax(double[] s) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : s) max = Math.max(max, v);
        double[] p = new double[s.length];
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            p[i] = s[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    static int argmax(double[] s) {
        int best = 0;
        for (int i = 1; i < s.length; i++) if (s[i] > s[best]) best = i;
        return best;
    }

    private static void check(SamplingParams p) {
        if (!(p.temperature() >= 0)) throw new UserError("temperature must be >= 0, got " + p.temperature());
        if (!(p.topP() > 0 && p.topP() <= 1)) throw new UserError("top_p must be in (0, 1], got " + p.topP());
        if (p.topK() < 0) throw new UserError("top_k must be >= 0, got " + p.topK());
        if (!(p.minP() >= 0 && p.minP() <= 1)) throw new UserError("min_p must be in [0, 1], got " + p.minP());
        if (!(p.repetitionPenalty() > 0)) throw new UserError("repetition_penalty must be > 0, got " + p.repetitionPenalty());
    }
}
