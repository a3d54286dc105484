package jlora.train;

/**
 * A learning-rate schedule as a multiplier of the base rate, the way transformers' {@code get_scheduler}
 * builds a {@code LambdaLR}: {@code factor(step)} is its lambda and {@code step} the number of
 * optimizer steps already taken, so the first update uses {@code factor(0)} (zero under warmup, as in
 * the Hugging Face Trainer).
 */
@FunctionalInterface
public interface Schedule {
    double factor(long step);

    default double lr(double baseLr, long step) {
        return baseLr * factor(step);
    }

    /** transformers' {@code SchedulerType} names that jlora implements. */
    enum Type {
        CONSTANT("constant"),
        CONSTANT_WITH_WARMUP("constant_with_warmup"),
        LINEAR("linear"),
        COSINE("cosine"),
        COSINE_WITH_RESTARTS("cosine_with_restarts");

        public final String hfName;

        Type(String hfName) {
            this.hfName = hfName;
        }

        /** Default {@code num_cycles} of {@code get_cosine_schedule_with_warmup} (half a wave) and of the restarts variant (one). */
        public double defaultCycles() {
            return this == COSINE_WITH_RESTARTS ? 1.0 : 0.5;
        }

        /** The type named {@code name} as transformers spells it, or null. */
        public static Type byName(String name) {
            for (Type t : values()) if (t.hfName.equals(name)) return t;
            return null;
        }
    }

    /**
     * transformers' {@code TrainingArguments.get_warmup_steps}: explicit steps win when positive,
     * otherwise {@code ceil(total · ratio)}.
     */
    static long warmupSteps(long totalSteps, long warmupSteps, double warmupRatio) {
        if (warmupSteps < 0) throw new IllegalArgumentException("warmup steps must be >= 0: " + warmupSteps);
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new IllegalArgumentException("warmup ratio must be in [0, 1]: " + warmupRatio);
        return warmupSteps > 0 ? warmupSteps : (long) Math.ceil(totalSteps * warmupRatio);
    }

    /**
     * The lambdas of transformers' {@code optimization.py}, computed in double as Python does:
     * <ul>
     *   <li>warmup (all but constant): {@code step / max(1, warmup)} while {@code step < warmup};</li>
     *   <li>linear: {@code max(0, (total - step) / max(1, total - warmup))};</li>
     *   <li>cosine: {@code max(0, 0.5·(1 + cos(π·cycles·2·progress)))};</li>
     *   <li>cosine_with_restarts: 0 once {@code progress >= 1}, else {@code max(0, 0.5·(1 + cos(π·((cycles·progress) mod 1))))};</li>
     * </ul>
     * with {@code progress = (step - warmup) / max(1, total - warmup)}.
     */
    static Schedule of(Type type, long totalSteps, long warmupSteps, double numCycles) {
        if (totalSteps < 0 || warmupSteps < 0) {
            throw new IllegalArgumentException("steps must be >= 0: total " + totalSteps + ", warmup " + warmupSteps);
        }
        return switch (type) {
            case CONSTANT -> step -> 1.0;
            case CONSTANT_WITH_WARMUP -> step -> step < warmupSteps ? warmup(step, warmupSteps) : 1.0;
            case LINEAR -> step -> step < warmupSteps ? warmup(step, warmupSteps)
                    : Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> step -> {
                if (step < warmupSteps) return warmup(step, warmupSteps);
                double progress = progress(step, totalSteps, warmupSteps);
                return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * progress)));
            };
            case COSINE_WITH_RESTARTS -> step -> {
                if (step < warmupSteps) return warmup(step, warmupSteps);
                double progress = progress(step, totalSteps, warmupSteps);
                if (progress >= 1.0) return 0.0;
                return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * ((numCycles * progress) % 1.0))));
            };
        };
    }

    private static double warmup(long step, long warmupSteps) {
        return (double) step / Math.max(1, warmupSteps);
    }

    private static double progress(long step, long totalSteps, long warmupSteps) {
        return (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    }
}
