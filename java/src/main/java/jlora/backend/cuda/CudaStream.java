package jlora.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream: work issued on it runs in order, asynchronously to the host. Created blocking
 * (cudaStreamCreate), so it stays ordered with the legacy default stream ({@link #legacyDefault})
 * that kernel wrappers without a stream argument launch on. Who creates it closes it; closing
 * waits for nothing (cudaStreamDestroy lets queued work finish).
 */
public final class CudaStream implements AutoCloseable {
    private final StreamCalls calls;
    private MemorySegment handle;
    private final boolean owned;

    private CudaStream(StreamCalls calls, MemorySegment handle, boolean owned) {
        this.calls = calls;
        this.handle = handle;
        this.owned = owned;
    }

    public static CudaStream create(CudaApi api) {
        StreamCalls calls = api.streamCalls();
        return new CudaStream(calls, calls.create(), true);
    }

    /** The legacy default stream (cudaStream_t 0); close() is a no-op. */
    public static CudaStream legacyDefault(CudaApi api) {
        return new CudaStream(api.streamCalls(), MemorySegment.NULL, false);
    }

    /** The cudaStream_t, for downcalls that take one. */
    public MemorySegment handle() {
        if (handle == null) throw new IllegalStateException("stream already destroyed");
        return handle;
    }

    /** Blocks the calling thread until everything issued so far on this stream has finished. */
    public void synchronize() {
        calls.synchronize(handle());
    }

    /** Later work on this stream waits for {@code event} (recorded on any stream) to complete. */
    public void waitFor(MemorySegment event) {
        calls.waitEvent(handle(), event);
    }

    @Override
    public void close() {
        if (owned && handle != null) {
            MemorySegment h = handle;
            handle = null;
            calls.destroy(h);
        }
    }
}
