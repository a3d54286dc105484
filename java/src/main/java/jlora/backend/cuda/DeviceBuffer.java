package jlora.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * One block of device memory, freed by {@link #close()}: cudaMalloc'd by the public constructor
 * (cudaFree), or taken from a {@link DevicePool} on a stream (cudaFreeAsync on that stream). Who
 * allocates frees: use it in try-with-resources. Offsets and lengths are checked here so that no
 * kernel launched through the Java API writes outside a buffer.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaApi api;
    private final long bytes;
    private final boolean owner;
    private final CudaStream stream;
    private MemorySegment pointer;

    public DeviceBuffer(CudaApi api, long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        this.api = api;
        this.bytes = bytes;
        this.owner = true;
        this.stream = null;
        this.pointer = api.malloc(bytes);
    }

    private DeviceBuffer(CudaApi api, long address, long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        this.api = api;
        this.bytes = bytes;
        this.owner = false;
        this.stream = null;
        this.pointer = MemorySegment.ofAddress(address);
    }

    /**
     * A bounds-checked view of {@code bytes} bytes at {@code address} that another allocator owns
     * (the CUDA backend's {@link DeviceMemory}); {@link #close()} does not free it.
     */
    public static DeviceBuffer view(CudaApi api, long address, long bytes) {
        return new DeviceBuffer(api, address, bytes);
    }

    /** A pool allocation made on {@code stream} (DevicePool#allocate); freed in order on it. */
    DeviceBuffer(CudaApi api, MemorySegment pointer, long bytes, CudaStream stream) {
        this.api = api;
        this.bytes = bytes;
        this.owner = true;
        this.stream = stream;
        this.pointer = pointer;
    }

    public long byteSize() {
        return bytes;
    }

    /** The device address {@code byteOffset} bytes in, after checking that {@code length} bytes fit. */
    public MemorySegment at(long byteOffset, long length) {
        if (pointer == null) throw new IllegalStateException("device buffer already freed");
        if (byteOffset < 0 || length < 0 || byteOffset > bytes - length) {
            throw new IndexOutOfBoundsException("range [" + byteOffset + ", +" + length + ") outside a device buffer of "
                    + bytes + " bytes");
        }
        return MemorySegment.ofAddress(pointer.address() + byteOffset);
    }

    public void copyFrom(MemorySegment host) {
        api.copyToDevice(at(0, host.byteSize()), host, host.byteSize());
    }

    public void copyTo(MemorySegment host) {
        api.copyToHost(host, at(0, host.byteSize()), host.byteSize());
    }

    public void fill(int byteValue) {
        api.memset(at(0, bytes), byteValue, bytes);
    }

    /** Queues a copy of {@code host} (native; pinned for true overlap) to byte 0 on {@code s}. */
    public void copyFromAsync(MemorySegment host, CudaStream s) {
        if (!host.isNative()) throw new IllegalArgumentException("host buffer must be a native (off-heap) segment");
        api.streamCalls().memcpyAsync(at(0, host.byteSize()), host, host.byteSize(), s.handle());
    }

    /** Queues a copy from byte 0 into {@code host} on {@code s}; read it after s.synchronize(). */
    public void copyToAsync(MemorySegment host, CudaStream s) {
        if (!host.isNative()) throw new IllegalArgumentException("host buffer must be a native (off-heap) segment");
        api.streamCalls().memcpyAsync(host, at(0, host.byteSize()), host.byteSize(), s.handle());
    }

    /** Queues a memset of {@code length} bytes from {@code byteOffset} on {@code s}. */
    public void fillAsync(int byteValue, long byteOffset, long length, CudaStream s) {
        api.streamCalls().memsetAsync(at(byteOffset, length), byteValue, length, s.handle());
    }

    @Override
    public void close() {
        if (pointer != null) {
            MemorySegment p = pointer;
            pointer = null;
            if (!owner) return;
            if (stream == null) {
                api.free(p);
            } else {
                api.streamCalls().freeAsync(p, stream.handle());
            }
        }
    }
}
