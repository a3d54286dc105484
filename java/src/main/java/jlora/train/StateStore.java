package jlora.train;

import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Where optimizer state lives and how an update walks over it. "Paged" is a property of the store,
 * not of the optimizer: the update kernels are the same, and the store decides which element ranges
 * they see and in what order.
 *
 * <p>On the CPU both stores keep state in host memory; the {@linkplain #hostPaged paged} one walks
 * each tensor in fixed-size chunks, the way a device store will stream chunks of pinned host memory
 * through a fixed device window (bitsandbytes' paged optimizers). Every element's (and every 8-bit
 * block's) update depends only on its own state, so paged and unpaged are numerically identical;
 * {@code PagedStateTest} checks it bit for bit.
 *
 * <p>A device store (CUDA backend, later) keeps the same contract with state allocated in pinned
 * host memory: {@link #update} stages each chunk of the state into a fixed device window, runs the
 * kernel over that window, and copies it back, so device memory holds one window whatever the
 * parameter count. Chunks are multiples of the alignment, so 8-bit blocks (and their absmax)
 * never straddle a chunk.
 */
public interface StateStore extends AutoCloseable {

    /** A kernel over the element range [from, to) of every tensor it was built for. */
    @FunctionalInterface
    interface RangeKernel {
        void run(long from, long to);
    }

    /** Zero-filled state owned by this store, freed by {@link #close()}. */
    Tensor allocate(DType dtype, Shape shape);

    /**
     * Runs {@code kernel} over ranges that cover [0, n) exactly once, each starting at a multiple of
     * {@code align} elements (8-bit state passes its quantization block size). Ranges may run
     * concurrently; returns when all are done.
     */
    void update(long n, int align, RangeKernel kernel);

    /** True where state is streamed in chunks rather than resident with the compute. */
    boolean paged();

    @Override
    void close();

    /** State in host memory, each update over the whole tensor at once (split across cores). */
    static StateStore host() {
        return new HostStateStore(0);
    }

    /**
     * State in host memory, each update streamed in chunks of {@code chunkElements} (rounded down to
     * the alignment), chunk after chunk; the cores share each chunk.
     */
    static StateStore hostPaged(long chunkElements) {
        if (chunkElements < 4096) throw new IllegalArgumentException("page chunk too small: " + chunkElements);
        return new HostStateStore(chunkElements);
    }

    /**
     * A chunk of 2^20 elements (4 MiB of fp32 state). bitsandbytes pages only state buffers of at
     * least 1e5 elements ({@code get_state_buffer}); here a paged store walks every tensor in
     * chunks, which changes no value.
     */
    long DEFAULT_CHUNK = 1L << 20;
}
