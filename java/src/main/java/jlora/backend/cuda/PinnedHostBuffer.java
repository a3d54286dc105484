package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Page-locked host memory (cudaHostAlloc), freed by {@link #close()}: the copy engines move it
 * asynchronously, which the paged optimizer state needs. {@link #segment()} is an ordinary native
 * segment the CPU reads and writes, once the stream that last copied into it is synchronized.
 */
public final class PinnedHostBuffer implements AutoCloseable {
    private final CudaApi api;
    private final MethodHandle free;
    private final long bytes;
    private MemorySegment segment;

    public PinnedHostBuffer(CudaApi api, long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        this.api = api;
        this.bytes = bytes;
        MethodHandle alloc = api.bindStatus("jl_host_alloc", ADDRESS, JAVA_LONG);
        free = api.bindStatus("jl_host_free", ADDRESS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            api.run("jl_host_alloc", () -> (int) alloc.invokeExact(out, bytes));
            segment = out.get(ADDRESS, 0).reinterpret(bytes);
        }
    }

    public long byteSize() {
        return bytes;
    }

    /** The whole buffer; invalid after {@link #close()}. */
    public MemorySegment segment() {
        if (segment == null) throw new IllegalStateException("pinned host buffer already freed");
        return segment;
    }

    @Override
    public void close() {
        if (segment != null) {
            MemorySegment p = segment;
            segment = null;
            api.run("jl_host_free", () -> (int) free.invokeExact(p));
        }
    }
}
