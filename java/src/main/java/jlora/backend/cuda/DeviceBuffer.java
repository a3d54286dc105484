package jlora.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * One cudaMalloc'd block, freed by {@link #close()}. Who allocates frees: use it in
 * try-with-resources. Offsets and lengths are checked here so that no kernel launched
 * through the Java API writes outside a buffer.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaApi api;
    private final long bytes;
    private final boolean owner;
    private MemorySegment pointer;

    public DeviceBuffer(CudaApi api, long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        this.api = api;
        this.bytes = bytes;
        this.owner = true;
        this.pointer = api.malloc(bytes);
    }

    private DeviceBuffer(CudaApi api, long address, long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        this.api = api;
        this.bytes = bytes;
        this.owner = false;
        this.pointer = MemorySegment.ofAddress(address);
    }

    /**
     * A bounds-checked view of {@code bytes} bytes at {@code address} that another allocator owns
     * (the CUDA backend's {@link DeviceMemory}); {@link #close()} does not free it.
     */
    public static DeviceBuffer view(CudaApi api, long address, long bytes) {
        return new DeviceBuffer(api, address, bytes);
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

    @Override
    public void close() {
        if (pointer != null) {
            MemorySegment p = pointer;
            pointer = null;
            if (owner) api.free(p);
        }
    }
}
