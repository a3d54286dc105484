package jlora.train.metrics;

/**
 * The scalar names the trainer logs and the sinks understand. They are TensorBoard tags as
 * well ("section/name" groups the charts), and the keys of metrics.jsonl.
 */
public final class MetricNames {
    private MetricNames() {}

    public static final String LOSS = "train/loss";
    public static final String EVAL_LOSS = "eval/loss";
    public static final String LR = "train/lr";
    /** Fractional epoch: 1.5 is half way through the second epoch. */
    public static final String EPOCH = "train/epoch";
    public static final String TOKENS_PER_SEC = "train/tokens_per_s";
    public static final String GRAD_NORM = "train/grad_norm";
    /** Device memory in use, bytes (absent on the CPU). */
    public static final String DEVICE_MEMORY = "device/memory_bytes";
    /** The most device memory jlora's tensors held since the previous log line, bytes (absent on the CPU). */
    public static final String DEVICE_PEAK_MEMORY = "device/peak_memory_bytes";
}
