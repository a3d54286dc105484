package jlora.bench;

import java.nio.file.Path;
import java.util.SplittableRandom;
import jlora.backend.Backend;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.nn.LoraConfig;
import jlora.tensor.DType;

/** Loading a random model with a fresh all-linear LoRA adapter in one of the three base storages. */
final class EngineModels {
    private EngineModels() {}

    /** base: F32, BF16 (dense weights in that dtype) or NF4 (bf16 checkpoint quantized on load, double-quant, as QLoRA). */
    static CausalLM load(Path dir, Backend backend, String base, int rank) {
        LoraConfig lora = LoraConfig.builder().r(rank).loraAlpha(2.0 * rank).loraDropout(0.0)
                .targetModules("all-linear").seed(1).build();
        LoadOptions o = LoadOptions.DEFAULT.withLora(lora);
        o = switch (base) {
            case "F32" -> o.withDtype(DType.F32);
            case "BF16" -> o.withDtype(DType.BF16);
            case "NF4" -> o.withDtype(DType.BF16).withNf4(true, true);
            default -> throw new IllegalArgumentException("base must be F32, BF16 or NF4, got " + base);
        };
        return CausalLM.load(dir, backend, o);
    }

    /** Random token ids of one document of {@code seq} tokens: ids, positions 0..seq-1, labels = ids. */
    static int[][] document(int seq, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[seq], pos = new int[seq];
        for (int t = 0; t < seq; t++) {
            ids[t] = r.nextInt(vocab);
            pos[t] = t;
        }
        return new int[][] {ids, pos, ids.clone()};
    }

    /**
     * CPU time of this whole process (all threads: workers, JIT, GC), ns. For a run pinned to one
     * core it is the time the run actually held the core, which other tenants' load does not
     * inflate the way it inflates wall time (their cache and memory-bandwidth traffic still does).
     */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static double loadAverage() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
