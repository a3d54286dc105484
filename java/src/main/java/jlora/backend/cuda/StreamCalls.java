package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls of native/stream.cpp (streams, cudaMallocAsync / cudaFreeAsync, the default pool),
 * bound once per {@link CudaApi}. Public use goes through {@link CudaStream} and {@link DevicePool}.
 */
final class StreamCalls {
    private final CudaApi api;
    private final MethodHandle create, destroy, synchronize, waitEvent, mallocAsync, freeAsync, memcpyAsync, memcpy2dAsync,
            memsetAsync, memset2dAsync, setReleaseThreshold, poolStats, resetPeaks, trim;

    StreamCalls(CudaApi api) {
        this.api = api;
        create = api.bindStatus("jl_stream_create", ADDRESS);
        destroy = api.bindStatus("jl_stream_destroy", ADDRESS);
        synchronize = api.bindStatus("jl_stream_synchronize", ADDRESS);
        waitEvent = api.bindStatus("jl_stream_wait_event", ADDRESS, ADDRESS);
        mallocAsync = api.bindStatus("jl_malloc_async", ADDRESS, JAVA_LONG, ADDRESS);
        freeAsync = api.bindStatus("jl_free_async", ADDRESS, ADDRESS);
        memcpyAsync = api.bindStatus("jl_memcpy_async", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
        memcpy2dAsync = api.bindStatus("jl_memcpy_2d_async", ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        memsetAsync = api.bindStatus("jl_memset_async", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS);
        memset2dAsync = api.bindStatus("jl_memset_2d_async", ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS);
        setReleaseThreshold = api.bindStatus("jl_mem_pool_set_release_threshold", JAVA_INT, JAVA_LONG);
        poolStats = api.bindStatus("jl_mem_pool_stats", JAVA_INT, ADDRESS);
        resetPeaks = api.bindStatus("jl_mem_pool_reset_peaks", JAVA_INT);
        trim = api.bindStatus("jl_mem_pool_trim", JAVA_INT, JAVA_LONG);
    }

    MemorySegment create() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            api.run("jl_stream_create", () -> (int) create.invokeExact(out));
            return out.get(ADDRESS, 0);
        }
    }

    void destroy(MemorySegment stream) {
        api.run("jl_stream_destroy", () -> (int) destroy.invokeExact(stream));
    }

    void synchronize(MemorySegment stream) {
        api.run("jl_stream_synchronize", () -> (int) synchronize.invokeExact(stream));
    }

    void waitEvent(MemorySegment stream, MemorySegment event) {
        api.run("jl_stream_wait_event", () -> (int) waitEvent.invokeExact(stream, event));
    }

    MemorySegment mallocAsync(long bytes, MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            api.run("jl_malloc_async", () -> (int) mallocAsync.invokeExact(out, bytes, stream));
            return out.get(ADDRESS, 0);
        }
    }

    void freeAsync(MemorySegment pointer, MemorySegment stream) {
        api.run("jl_free_async", () -> (int) freeAsync.invokeExact(pointer, stream));
    }

    void memcpyAsync(MemorySegment dst, MemorySegment src, long bytes, MemorySegment stream) {
        api.run("jl_memcpy_async", () -> (int) memcpyAsync.invokeExact(dst, src, bytes, stream));
    }

    void memcpy2dAsync(MemorySegment dst, long dstPitch, MemorySegment src, long srcPitch, long widthBytes, long rows,
            MemorySegment stream) {
        api.run("jl_memcpy_2d_async",
                () -> (int) memcpy2dAsync.invokeExact(dst, dstPitch, src, srcPitch, widthBytes, rows, stream));
    }

    void memsetAsync(MemorySegment dst, int byteValue, long bytes, MemorySegment stream) {
        api.run("jl_memset_async", () -> (int) memsetAsync.invokeExact(dst, byteValue, bytes, stream));
    }

    void memset2dAsync(MemorySegment dst, long pitch, int byteValue, long widthBytes, long rows, MemorySegment stream) {
        api.run("jl_memset_2d_async", () -> (int) memset2dAsync.invokeExact(dst, pitch, byteValue, widthBytes, rows, stream));
    }

    void setReleaseThreshold(int device, long bytes) {
        api.run("jl_mem_pool_set_release_threshold", () -> (int) setReleaseThreshold.invokeExact(device, bytes));
    }

    /** jl_pool_stats: five int64 (reserved, reserved peak, used, used peak, release threshold). */
    long[] poolStats(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG, 5);
            api.run("jl_mem_pool_stats", () -> (int) poolStats.invokeExact(device, out));
            return out.toArray(JAVA_LONG);
        }
    }

    void resetPeaks(int device) {
        api.run("jl_mem_pool_reset_peaks", () -> (int) resetPeaks.invokeExact(device));
    }

    void trim(int device, long keepBytes) {
        api.run("jl_mem_pool_trim", () -> (int) trim.invokeExact(device, keepBytes));
    }
}
