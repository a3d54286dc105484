package jlora.backend;

/**
 * The un-normalised cross-entropy of a micro-batch: the sum of per-token losses over the tokens
 * whose target is not the ignore index, and how many those were. The trainer divides the sum
 * over the whole accumulated batch by the total count (DESIGN.md, Numerics).
 */
public record LossSum(double sum, long count) {
    public LossSum plus(LossSum o) {
        return new LossSum(sum + o.sum, count + o.count);
    }
}
