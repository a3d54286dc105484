package jlora.backend.cuda;

import java.util.Locale;
import jlora.UserError;

/**
 * Stream-ordered device memory from the device's default pool (cudaMallocAsync / cudaFreeAsync).
 * A buffer from {@link #allocate} is usable by work issued on its stream after the call, and its
 * {@link DeviceBuffer#close()} returns it to the pool in stream order: a later allocation on the
 * same stream reuses the memory without any device synchronization. Peak use per training step
 * comes from {@link #stats()} after {@link #resetPeaks()}. Using a buffer on another stream needs
 * an event from its stream first (CudaStream#waitFor).
 */
public final class DevicePool {
    private final CudaApi api;
    private final StreamCalls calls;
    private final int device;

    /** The pool of {@code device}; allocations go to the device current on the calling thread. */
    public DevicePool(CudaApi api, int device) {
        this.api = api;
        this.calls = api.streamCalls();
        this.device = device;
    }

    /** Pool counters in bytes: reserved from the driver, handed out, and their peaks since the last reset. */
    public record Stats(long reserved, long reservedPeak, long used, long usedPeak, long releaseThreshold) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "pool in use %s (peak %s), reserved %s (peak %s)", mib(used), mib(usedPeak),
                    mib(reserved), mib(reservedPeak));
        }
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    /**
     * {@code bytes} of device memory, valid on {@code stream} from now on. Out of memory is a
     * {@link UserError} that gives the size asked for and the pool's use, and what to change.
     */
    public DeviceBuffer allocate(long bytes, CudaStream stream) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        try {
            return new DeviceBuffer(api, calls.mallocAsync(bytes, stream.handle()), bytes, stream);
        } catch (CudaException e) {
            if (e.status() != 2) throw e; // cudaErrorMemoryAllocation
            Stats s = stats();
            throw new UserError(String.format(Locale.ROOT, "out of GPU memory: asked for %s on cuda:%d with %s."
                    + " Lower the micro-batch size or the sequence length, turn on gradient checkpointing, or use a"
                    + " GPU with more memory", mib(bytes), device, s), e);
        }
    }

    /**
     * Memory the pool keeps reserved across stream synchronizations instead of returning it to
     * the driver. CUDA's default is 0 (give back at every sync); a training loop wants
     * {@link Long#MAX_VALUE} (keep everything: the next step needs the same sizes).
     */
    public void setReleaseThreshold(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative threshold " + bytes);
        calls.setReleaseThreshold(device, bytes);
    }

    public Stats stats() {
        long[] v = calls.poolStats(device);
        return new Stats(v[0], v[1], v[2], v[3], v[4]);
    }

    /** Restarts both peaks from the current levels (call at the start of a step). */
    public void resetPeaks() {
        calls.resetPeaks(device);
    }

    /** Returns unused reserved memory beyond {@code keepBytes} to the driver. */
    public void trim(long keepBytes) {
        calls.trim(device, keepBytes);
    }
}
