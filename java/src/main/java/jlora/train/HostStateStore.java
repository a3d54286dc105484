package jlora.train;

import java.lang.foreign.Arena;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/** {@link StateStore} in host memory (a shared arena); {@code chunk > 0} makes it paged. */
final class HostStateStore implements StateStore {
    /** Below this many elements a range runs on the calling thread; above it the range is split in two. */
    private static final long GRAIN = 1 << 15;

    private final Arena arena = Arena.ofShared();
    private final long chunk;

    HostStateStore(long chunk) {
        this.chunk = chunk;
    }

    @Override
    public Tensor allocate(DType dtype, Shape shape) {
        return Tensor.allocate(dtype, shape, arena);
    }

    @Override
    public void update(long n, int align, RangeKernel kernel) {
        if (chunk <= 0) {
            run(0, n, align, kernel);
            return;
        }
        long step = Math.max(align, chunk / align * align);
        for (long from = 0; from < n; from += step) run(from, Math.min(n, from + step), align, kernel);
    }

    private static void run(long from, long to, int align, RangeKernel kernel) {
        if (to - from <= GRAIN) {
            kernel.run(from, to);
            return;
        }
        ForkJoinPool.commonPool().invoke(new Split(from, to, align, kernel));
    }

    private static final class Split extends RecursiveAction {
        private final long from;
        private final long to;
        private final int align;
        private final RangeKernel kernel;

        Split(long from, long to, int align, RangeKernel kernel) {
            this.from = from;
            this.to = to;
            this.align = align;
            this.kernel = kernel;
        }

        @Override
        protected void compute() {
            long mid = from + (to - from) / 2 / align * align;
            if (to - from <= GRAIN || mid <= from) {
                kernel.run(from, to);
                return;
            }
            invokeAll(new Split(from, mid, align, kernel), new Split(mid, to, align, kernel));
        }
    }

    @Override
    public boolean paged() {
        return chunk > 0;
    }

    @Override
    public void close() {
        arena.close();
    }
}
