package jlora.backend;

/**
 * Inverted dropout on the LoRA input path (PEFT's {@code lora_dropout}): element {@code i} is
 * kept with probability {@code 1 - p} and then scaled by {@code 1 / (1 - p)}. The mask is a pure
 * function of {@code (seed, i)} (a counter-based hash, not a stream), so the backward regenerates
 * exactly the forward's mask without storing it, whatever the thread split. Element indices
 * restart at 0 in every call, so the caller derives a distinct seed per layer, module and
 * step (e.g. from the run seed, the step and the module's index).
 */
public record Dropout(float p, long seed) {
    public static final Dropout NONE = new Dropout(0f, 0L);

    public Dropout {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout p must be in [0, 1), got " + p);
    }

    public boolean active() {
        return p > 0f;
    }

    /** The multiplier of element {@code i}: 0 if dropped, {@code 1/(1-p)} if kept. */
    public float factor(long i) {
        if (p == 0f) return 1f;
        return uniform(seed, i) >= p ? 1f / (1f - p) : 0f;
    }

    /** A uniform double in [0, 1) from SplitMix64 of (seed, i): 53 high bits of the mix. */
    static double uniform(long seed, long i) {
        long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
