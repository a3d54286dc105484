package jlora.train;

/**
 * {@code training:} the loop. Names and defaults follow TRL's SFTConfig (which extends
 * transformers' TrainingArguments), with the HF name in parentheses where ours is shorter.
 *
 * @param epochs passes over the data ({@code num_train_epochs}); default 3
 * @param maxSteps optimizer steps; when set it wins over epochs, as in HF; null = use epochs
 * @param microBatchSize sequences per forward pass ({@code per_device_train_batch_size});
 *     default 8
 * @param gradientAccumulationSteps micro-batches per optimizer step; default 1. Loss is
 *     normalised by the trained tokens of the whole accumulated batch
 * @param learningRate peak learning rate; default 2e-5 (SFTConfig)
 * @param embeddingLearningRate peak learning rate of an embedding or output head trained in full
 *     (lora.modules_to_save embed_tokens / lm_head), under the same schedule; null = learningRate.
 *     Unsloth's {@code embedding_learning_rate}: a full table often wants a smaller rate than LoRA
 * @param lrScheduler {@code linear} decay to 0 (HF default), {@code cosine}, {@code constant},
 *     {@code constant_with_warmup} ({@code lr_scheduler_type})
 * @param warmupSteps linear warmup steps from 0; null with warmupRatio null means no warmup
 * @param warmupRatio warmup as a fraction of total steps, in [0, 1); set one of the two
 * @param weightDecay decoupled (AdamW) weight decay; default 0.0
 * @param optimizer {@code adamw} (fp32 state, {@code adamw_torch}), {@code adamw_8bit}
 *     (blockwise 8-bit state), {@code paged_adamw_8bit} / {@code paged_adamw_32bit} (state in
 *     pinned host memory streamed to the GPU); default adamw
 * @param adamBeta1 default 0.9
 * @param adamBeta2 default 0.999
 * @param adamEpsilon default 1e-8
 * @param maxGradNorm clip the global gradient norm to this; 0 disables; default 1.0
 * @param seed seeds data order, splits, dropout and LoRA init; default 42 (HF)
 * @param gradientCheckpointing re-run each decoder layer's forward in backward to save
 *     activation memory; default true as in SFTConfig
 * @param evalStrategy {@code no}, every evalSteps {@code steps}, or each {@code epoch}
 * @param evalSteps null = loggingSteps, as HF
 * @param saveStrategy checkpoint {@code no}, every saveSteps {@code steps} (default), or each
 *     {@code epoch}
 * @param saveSteps default 500 (HF)
 * @param saveTotalLimit keep only the newest K checkpoints; null keeps all (HF default)
 * @param earlyStopping see {@link EarlyStopping}
 * @param nanGuardMaxConsecutive a step whose loss or gradient is NaN/Inf is skipped and
 *     reported; this many in a row stop the run; default 5
 * @param loggingSteps metrics every N steps; default 10 (SFTConfig)
 * @param device {@code cpu}, {@code cuda}, or {@code auto} (CUDA when a device and the native
 *     library are present)
 */
public record TrainingSection(
        @Nullable Integer epochs, @Nullable Integer maxSteps, int microBatchSize, int gradientAccumulationSteps,
        double learningRate, @Nullable Double embeddingLearningRate, Scheduler lrScheduler, @Nullable Integer warmupSteps, @Nullable Double warmupRatio,
        double weightDecay, Optimizer optimizer, double adamBeta1, double adamBeta2, double adamEpsilon,
        double maxGradNorm, int seed, boolean gradientCheckpointing,
        Strategy evalStrategy, @Nullable Integer evalSteps, Strategy saveStrategy, @Nullable Integer saveSteps,
        @Nullable Integer saveTotalLimit, EarlyStopping earlyStopping, int nanGuardMaxConsecutive, int loggingSteps,
        Device device) {

    /** Learning-rate schedules (transformers' get_scheduler names). */
    public enum Scheduler { LINEAR, COSINE, CONSTANT, CONSTANT_WITH_WARMUP }

    /** Optimizers (transformers' {@code optim} names, adamw_torch shortened to adamw). */
    public enum Optimizer { ADAMW, ADAMW_8BIT, PAGED_ADAMW_8BIT, PAGED_ADAMW_32BIT }

    /** When eval or checkpoints happen (HF IntervalStrategy). */
    public enum Strategy { NO, STEPS, EPOCH }

    /** Where the math runs. */
    public enum Device { AUTO, CPU, CUDA }

    /** Sequences per optimizer step. */
    public int effectiveBatchSize() {
        return microBatchSize * gradientAccumulationSteps;
    }

    /** Eval interval in steps when evalStrategy is steps: evalSteps, else loggingSteps (HF rule). */
    public int resolvedEvalSteps() {
        return evalSteps != null ? evalSteps : loggingSteps;
    }

    static TrainingSection defaults() {
        return new TrainingSection(3, null, 8, 1, 2e-5, null, Scheduler.LINEAR, null, null, 0.0, Optimizer.ADAMW, 0.9,
                0.999, 1e-8, 1.0, 42, true, Strategy.NO, null, Strategy.STEPS, 500, null, EarlyStopping.defaults(),
                5, 10, Device.AUTO);
    }
}
