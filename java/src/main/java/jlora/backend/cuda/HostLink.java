package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The host link's measured bandwidth between pinned host memory and the device: the roofline of
 * anything that streams host state (the paged optimizer). Timed inside the library with CUDA
 * events around cudaMemcpyAsync on non-blocking streams (native/adamw8bit.cpp).
 */
public final class HostLink {
    public enum Direction { HOST_TO_DEVICE, DEVICE_TO_HOST, BOTH_AT_ONCE }

    private final CudaApi api;
    private final MethodHandle copyMs;

    public HostLink(CudaApi api) {
        this.api = api;
        copyMs = api.bindStatus("jl_host_link_copy_ms", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                ADDRESS);
    }

    /**
     * Median ms of {@code reps} (at most 64) copies of {@code bytes}; {@link Direction#BOTH_AT_ONCE}
     * copies {@code host → dev} and {@code dev2 → host2} at the same time (then each side moves {@code bytes}).
     */
    public double copyMs(PinnedHostBuffer host, PinnedHostBuffer host2, DeviceBuffer dev, DeviceBuffer dev2, long bytes,
            Direction direction, int reps) {
        MemorySegment h = host.segment().asSlice(0, bytes), d = dev.at(0, bytes);
        boolean both = direction == Direction.BOTH_AT_ONCE;
        MemorySegment h2 = both ? host2.segment().asSlice(0, bytes) : MemorySegment.NULL;
        MemorySegment d2 = both ? dev2.at(0, bytes) : MemorySegment.NULL;
        int dir = direction.ordinal();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_FLOAT);
            api.run("jl_host_link_copy_ms", () -> (int) copyMs.invokeExact(h, h2, d, d2, bytes, dir, reps, out));
            return out.get(JAVA_FLOAT, 0);
        }
    }
}
