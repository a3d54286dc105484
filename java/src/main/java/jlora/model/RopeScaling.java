package jlora.model;

import java.util.Locale;

import jlora.UserError;

/**
 * The {@code rope_scaling} block of config.json and the inverse frequencies it implies.
 *
 * <p>The formulas follow transformers' {@code modeling_rope_utils} (the functions
 * {@code _compute_*_parameters}); a RoPE op rotates dimension pair {@code i} of a head by
 * {@code position * inverseFrequencies[i]} and multiplies cos and sin by
 * {@link #attentionScaling()}. transformers computes the frequencies in fp32; we compute them
 * in fp64, so values agree to fp32 rounding (~1e-7 relative).
 *
 * @param type the variant; {@link Type#DEFAULT} when config.json has no rope_scaling
 * @param factor context-extension factor (1 for DEFAULT)
 * @param originalMaxPositionEmbeddings the pre-training context: llama3 and yarn read
 *     {@code rope_scaling.original_max_position_embeddings} (yarn falls back to
 *     {@code max_position_embeddings}); dynamic uses {@code max_position_embeddings}, as
 *     transformers does
 * @param lowFreqFactor llama3 only: wavelengths above original/low are fully interpolated
 * @param highFreqFactor llama3 only: wavelengths below original/high are kept
 * @param betaFast yarn: rotations that bound the extrapolated (unchanged) dimensions (32)
 * @param betaSlow yarn: rotations that bound the interpolated dimensions (1)
 * @param truncate yarn: round the correction range to whole dimensions (transformers' default)
 * @param attentionScaling the cos/sin multiplier: yarn's attention_factor (explicit, or from
 *     mscale / mscale_all_dim, or 0.1 ln(factor) + 1); 1 for every other type
 */
public record RopeScaling(
        Type type,
        double factor,
        int originalMaxPositionEmbeddings,
        double lowFreqFactor,
        double highFreqFactor,
        double betaFast,
        double betaSlow,
        boolean truncate,
        double attentionScaling) {

    public enum Type {
        DEFAULT, LINEAR, DYNAMIC, LLAMA3, YARN;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static RopeScaling none(int maxPositionEmbeddings) {
        return new RopeScaling(Type.DEFAULT, 1, maxPositionEmbeddings, 0, 0, 0, 0, true, 1);
    }

    /**
     * Reads a rope_scaling object. transformers accepts the type under {@code rope_type} (new)
     * or {@code type} (old configs), preferring {@code rope_type}.
     */
    static RopeScaling parse(ConfigFields f, int maxPositionEmbeddings) {
        String typeName = f.optionalString("rope_type", f.optionalString("type", null));
        if (typeName == null) {
            throw f.invalid("rope_type", "is missing: rope_scaling needs 'rope_type' (or 'type'), one of "
                    + "default, linear, dynamic, llama3, yarn");
        }
        Type type = switch (typeName.toLowerCase(Locale.ROOT)) {
            case "default", "none" -> Type.DEFAULT;
            case "linear" -> Type.LINEAR;
            case "dynamic" -> Type.DYNAMIC;
            case "llama3" -> Type.LLAMA3;
            case "yarn" -> Type.YARN;
            default -> throw f.invalid("rope_type", "is '" + typeName + "', which jlora does not support;"
                    + " supported: default, linear, dynamic, llama3, yarn");
        };
        return switch (type) {
            case DEFAULT -> none(maxPositionEmbeddings);
            case LINEAR, DYNAMIC -> new RopeScaling(type, factor(f), maxPositionEmbeddings, 0, 0, 0, 0, true, 1);
            case LLAMA3 -> {
                double low = f.requiredDouble("low_freq_factor");
                double high = f.requiredDouble("high_freq_factor");
                int original = f.requiredInt("original_max_position_embeddings");
                if (!(high > low)) {
                    throw f.invalid("high_freq_factor", "is " + high + " but must be greater than low_freq_factor " + low);
                }
                if (original <= 0) throw f.invalid("original_max_position_embeddings", "must be positive");
                yield new RopeScaling(type, factor(f), original, low, high, 0, 0, true, 1);
            }
            case YARN -> yarn(f, maxPositionEmbeddings);
        };
    }

    private static RopeScaling yarn(ConfigFields f, int maxPositionEmbeddings) {
        int original = f.optionalInt("original_max_position_embeddings", maxPositionEmbeddings);
        if (original <= 0) throw f.invalid("original_max_position_embeddings", "must be positive");
        // transformers 5 (and before 4.53): an explicit factor wins; without one, the factor is
        // max_position_embeddings / original. (4.53-4.56 let the ratio override an explicit
        // factor, which changed Qwen3's documented yarn setup; we follow the current rule.)
        double factor = f.has("factor") || !f.has("original_max_position_embeddings")
                ? factor(f)
                : Math.max(1.0, (double) maxPositionEmbeddings / original);
        // transformers: `beta_fast or 32`, so an explicit 0 also means the default.
        double betaFast = f.optionalDouble("beta_fast", 0);
        double betaSlow = f.optionalDouble("beta_slow", 0);
        if (betaFast == 0) betaFast = 32;
        if (betaSlow == 0) betaSlow = 1;
        double attention;
        if (f.has("attention_factor")) {
            attention = f.requiredDouble("attention_factor");
        } else {
            // YaRN paper, eq. for sqrt(1/t) = 0.1 ln(s) + 1; DeepSeek's variant divides two such
            // terms when both mscale and mscale_all_dim are set (and non-zero).
            double mscale = f.optionalDouble("mscale", 0);
            double mscaleAllDim = f.optionalDouble("mscale_all_dim", 0);
            attention = mscale != 0 && mscaleAllDim != 0
                    ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim)
                    : yarnMscale(factor, 1);
        }
        boolean truncate = f.optionalBoolean("truncate", true);
        return new RopeScaling(Type.YARN, factor, original, 0, 0, betaFast, betaSlow, truncate, attention);
    }

    private static double factor(ConfigFields f) {
        double factor = f.requiredDouble("factor");
        if (!(factor >= 1)) {
            throw f.invalid("factor", "is " + factor + " but must be >= 1 (it is the context-extension factor)");
        }
        return factor;
    }

    static double yarnMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    /**
     * The {@code headDim / 2} inverse frequencies for a head of {@code headDim} dimensions.
     * {@code seqLen} is the length of the sequence being processed; only DYNAMIC depends on it.
     */
    public double[] inverseFrequencies(int headDim, double theta, int seqLen) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE head dimension must be positive and even, got " + headDim);
        }
        return switch (type) {
            case DEFAULT -> defaultFrequencies(headDim, theta);
            case LINEAR -> {
                double[] inv = defaultFrequencies(headDim, theta);
                for (int i = 0; i < inv.length; i++) inv[i] /= factor;
                yield inv;
            }
            case DYNAMIC -> dynamic(headDim, theta, seqLen);
            case LLAMA3 -> llama3(headDim, theta);
            case YARN -> yarnFrequencies(headDim, theta);
        };
    }

    /** theta^(-2i/d): the RoFormer frequencies. */
    static double[] defaultFrequencies(int dim, double theta) {
        double[] inv = new double[dim / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / dim);
        return inv;
    }

    /**
     * Dynamic NTK: beyond the trained length L, raise the base to
     * theta * (factor * seqLen / L - (factor - 1))^(d / (d - 2)); within it, change nothing
     * (transformers resets to the original frequencies for seqLen <= L).
     */
    private double[] dynamic(int dim, double theta, int seqLen) {
        int trained = originalMaxPositionEmbeddings;
        if (seqLen <= trained) return defaultFrequencies(dim, theta);
        double base = theta * Math.pow(factor * seqLen / trained - (factor - 1), (double) dim / (dim - 2));
        return defaultFrequencies(dim, base);
    }

    /**
     * Llama 3.1: with L the original context, wavelengths shorter than L / high_freq_factor keep
     * their frequency, those longer than L / low_freq_factor are divided by factor, and the band
     * between blends the two linearly in L / wavelength.
     */
    private double[] llama3(int dim, double theta) {
        double[] inv = defaultFrequencies(dim, theta);
        double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
        double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = inv[i] / factor;
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                        / (highFreqFactor - lowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            }
        }
        return inv;
    }

    /**
     * YaRN (arXiv 2309.00071): dimensions that rotate more than betaFast times over the original
     * context keep their frequency (extrapolation), those that rotate fewer than betaSlow times
     * are divided by factor (interpolation), and a linear ramp over dimension index blends them.
     */
    private double[] yarnFrequencies(int dim, double theta) {
        double low = correctionDim(betaFast, dim, theta);
        double high = correctionDim(betaSlow, dim, theta);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) high += 0.001; // transformers: avoid a zero-width ramp
        double[] inv = defaultFrequencies(dim, theta);
        for (int i = 0; i < inv.length; i++) {
            double ramp = Math.clamp((i - low) / (high - low), 0.0, 1.0);
            double extrapolation = 1 - ramp; // weight of the unchanged frequency
            double interpolated = inv[i] / factor;
            inv[i] = interpolated * (1 - extrapolation) + inv[i] * extrapolation;
        }
        return inv;
    }

    /** The dimension index at which a frequency completes {@code rotations} turns over L. */
    private double correctionDim(double rotations, int dim, double theta) {
        return dim * Math.log(originalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }
}
