package jlora.eval;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;

/**
 * The JVM heap high-water mark: the sum over heap pools of each pool's peak used bytes since
 * {@link #reset}. Pools peak at different moments, so the sum bounds the true simultaneous
 * peak from above. This is host memory: on the CPU backend weights live in off-heap arenas
 * (FFM), which this does not see; GPU memory is the CUDA backend's to report.
 */
public final class PeakMemory {
    private PeakMemory() {}

    public static void reset() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.isValid()) p.resetPeakUsage();
        }
    }

    /** Summed per-pool peak heap use since the last reset, in bytes. */
    public static long heapPeakBytes() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.isValid() && p.getPeakUsage() != null) sum += p.getPeakUsage().getUsed();
        }
        return sum;
    }
}
