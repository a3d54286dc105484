package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The CUDA backend's device allocator: a caching allocator over cudaMalloc in the manner of
 * PyTorch's. Freed blocks go to a free list per size class and are handed out again; every
 * kernel runs on the one legacy default stream, so a block freed after a launch and reused by
 * the next launch is ordered by the stream itself. A step's activations have the same shapes
 * step after step, so after the first step nothing is cudaMalloc'd (and nothing cudaFree'd,
 * which would synchronise the device).
 *
 * <p>A failed cudaMalloc first gives every cached block back to the driver and tries again;
 * then it becomes a {@link DeviceOutOfMemory} naming the sizes. {@link #inUse()} counts the
 * bytes of live blocks (by size class), and its high-water mark since {@link #resetPeak()} is
 * the peak device memory a training step reports.
 *
 * <p>Not thread-safe: the backend calls it from the training thread only.
 */
final class DeviceMemory implements AutoCloseable {
    /** cudaErrorMemoryAllocation. */
    static final int CUDA_ERROR_MEMORY_ALLOCATION = 2;

    private final CudaApi api;
    private final int device;
    private final String name;
    private final TreeMap<Long, ArrayDeque<Long>> free = new TreeMap<>();
    private final Map<Long, Long> live = new HashMap<>();
    private long inUse, reserved, peak;

    DeviceMemory(CudaApi api, int device) {
        this.api = api;
        this.device = device;
        this.name = "cuda:" + device;
    }

    String deviceName() {
        return name;
    }

    /**
     * Size classes: powers of two from 512 bytes up to 1 MiB, then multiples of an eighth of the
     * power of two below the request (at most 12.5 % slack), so varying activation sizes share blocks.
     */
    static long sizeClass(long bytes) {
        if (bytes <= 512) return 512;
        if (bytes <= 1L << 20) return Long.highestOneBit(bytes - 1) << 1;
        long step = Long.highestOneBit(bytes - 1) / 8;
        return Math.ceilDiv(bytes, step) * step;
    }

    /** A block of at least {@code bytes} bytes; {@code what} names it in an out-of-memory message. */
    long allocate(long bytes, String what) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        long size = sizeClass(bytes);
        ArrayDeque<Long> q = free.get(size);
        long address;
        if (q != null && !q.isEmpty()) {
            address = q.pop();
        } else {
            address = malloc(size, what);
            reserved += size;
        }
        live.put(address, size);
        inUse += size;
        peak = Math.max(peak, inUse);
        return address;
    }

    private long malloc(long size, String what) {
        try {
            return api.malloc(size).address();
        } catch (CudaException e) {
            if (e.status() != CUDA_ERROR_MEMORY_ALLOCATION) throw e;
        }
        releaseCached();
        try {
            return api.malloc(size).address();
        } catch (CudaException e) {
            if (e.status() != CUDA_ERROR_MEMORY_ALLOCATION) throw e;
            throw outOfMemory(what, size);
        }
    }

    /** The user-facing error for a failed allocation of {@code size} bytes for {@code what}, with the device's numbers now. */
    DeviceOutOfMemory outOfMemory(String what, long size) {
        long[] ft = freeAndTotal();
        return new DeviceOutOfMemory(DeviceOutOfMemory.message(name, what, size, ft[0], ft[1], inUse), size);
    }

    /**
     * Runs an allocation another allocator makes (cudaMalloc through {@link DeviceBuffer}); its
     * out-of-memory becomes a {@link DeviceOutOfMemory} after the cached blocks were given back once.
     */
    <T> T external(String what, long size, java.util.function.Supplier<T> allocation) {
        try {
            return allocation.get();
        } catch (CudaException e) {
            if (e.status() != CUDA_ERROR_MEMORY_ALLOCATION) throw e;
        }
        releaseCached();
        try {
            return allocation.get();
        } catch (CudaException e) {
            if (e.status() != CUDA_ERROR_MEMORY_ALLOCATION) throw e;
            throw outOfMemory(what, size);
        }
    }

    /** Counts {@code bytes} that another allocator holds for the backend (uploaded NF4 weights) as in use. */
    void track(long bytes) {
        inUse += bytes;
        reserved += bytes;
        peak = Math.max(peak, inUse);
    }

    /** Returns a block from {@link #allocate} to its free list. */
    void release(long address) {
        Long size = live.remove(address);
        if (size == null) throw new IllegalStateException("device block 0x" + Long.toHexString(address) + " is not live");
        inUse -= size;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
    }

    /** cudaFree of every cached (not live) block. */
    void releaseCached() {
        api.synchronize();
        for (var e : free.entrySet()) {
            for (long a : e.getValue()) {
                api.free(MemorySegment.ofAddress(a));
                reserved -= e.getKey();
            }
        }
        free.clear();
    }

    /** {free, total} bytes of the device now (cudaMemGetInfo). */
    long[] freeAndTotal() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = api.deviceInfo(device, arena);
            long total = info.get(java.lang.foreign.ValueLayout.JAVA_LONG,
                    CudaApi.DEVICE_INFO.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("total_bytes")));
            long freeBytes = info.get(java.lang.foreign.ValueLayout.JAVA_LONG,
                    CudaApi.DEVICE_INFO.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("free_bytes")));
            return new long[] {freeBytes, total};
        } catch (CudaException e) {
            return new long[] {-1, -1};
        }
    }

    long inUse() {
        return inUse;
    }

    long reserved() {
        return reserved;
    }

    long peak() {
        return peak;
    }

    void resetPeak() {
        peak = inUse;
    }

    @Override
    public void close() {
        for (long a : live.keySet()) api.free(MemorySegment.ofAddress(a));
        live.clear();
        inUse = 0;
        releaseCached();
    }
}
