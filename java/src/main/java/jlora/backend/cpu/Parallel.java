package jlora.backend.cpu;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Runs independent tasks on the common ForkJoin pool, whose parallelism follows the cores the
 * JVM sees (the caller thread joins in), so nested or concurrent use never oversubscribes.
 */
final class Parallel {
    private Parallel() {}

    static void forEach(int tasks, IntConsumer body) {
        if (tasks <= 1) {
            if (tasks == 1) body.accept(0);
            return;
        }
        IntStream.range(0, tasks).parallel().forEach(body);
    }

    /** Splits [0, n) into about {@code pieces} contiguous ranges and runs body(start, end) on each. */
    static void forRanges(int n, int minPerTask, RangeBody body) {
        int tasks = Math.max(1, Math.min(n / Math.max(1, minPerTask), 8 * Runtime.getRuntime().availableProcessors()));
        int per = Math.ceilDiv(n, tasks);
        forEach(Math.ceilDiv(n, Math.max(1, per)), t -> body.run(t * per, Math.min(n, (t + 1) * per)));
    }

    interface RangeBody {
        void run(int start, int end);
    }
}
