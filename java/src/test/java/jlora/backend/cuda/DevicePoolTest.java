package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import jlora.UserError;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link DevicePool} and {@link CudaStream} on the GPU. Oracles: bytes written through async
 * copies on a stream come back unchanged; the pool's own counters (cudaMemPoolGetAttribute) see an
 * allocation of N bytes as at least N bytes in use and peak, and none once it is freed and the
 * stream synchronized; a request larger than the device is a UserError naming the size asked for.
 */
@Tag("gpu")
class DevicePoolTest {
    @Test
    void streamOrderedRoundTripAndCounters() {
        CudaApi api = GpuParity.requireGpu();
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        DevicePool pool = new DevicePool(api, 0);
        pool.setReleaseThreshold(Long.MAX_VALUE);
        assertEquals(Long.MAX_VALUE, pool.stats().releaseThreshold());
        int n = 1 + r.nextInt(1 << 20);
        try (CudaStream s = CudaStream.create(api); Arena arena = Arena.ofConfined()) {
            pool.trim(0);
            s.synchronize();
            pool.resetPeaks();
            long usedBefore = pool.stats().used();
            MemorySegment host = arena.allocate(4L * n, 16), back = arena.allocate(4L * n, 16);
            for (int i = 0; i < n; i++) host.setAtIndex(ValueLayout.JAVA_INT, i, r.nextInt());
            try (DeviceBuffer a = pool.allocate(4L * n, s); DeviceBuffer b = pool.allocate(4L * n, s)) {
                a.copyFromAsync(host, s);
                b.fillAsync(0xFF, 0, 4L * n, s);
                api.streamCalls().memcpyAsync(b.at(0, 4L * n), a.at(0, 4L * n), 4L * n, s.handle());
                b.copyToAsync(back, s);
                s.synchronize();
                assertArrayEquals(host.toArray(ValueLayout.JAVA_INT), back.toArray(ValueLayout.JAVA_INT), "seed=" + seed + " n=" + n);
                DevicePool.Stats in = pool.stats();
                assertTrue(in.used() - usedBefore >= 8L * n && in.usedPeak() >= in.used() && in.reserved() >= in.used(),
                        "seed=" + seed + " n=" + n + ": " + in);
            }
            s.synchronize();
            DevicePool.Stats after = pool.stats();
            assertEquals(usedBefore, after.used(), "in use after free: " + after);
            assertTrue(after.usedPeak() >= usedBefore + 8L * n, after.toString());
            // Reuse without a device-wide sync: the freed block serves the next request.
            try (DeviceBuffer c = pool.allocate(4L * n, s)) {
                c.fillAsync(0, 0, 4L * n, s);
            }
            s.synchronize();
        }
    }

    @Test
    void outOfMemoryIsAUserErrorWithTheSizes() {
        CudaApi api = GpuParity.requireGpu();
        DevicePool pool = new DevicePool(api, 0);
        try (CudaStream s = CudaStream.create(api)) {
            UserError e = assertThrows(UserError.class, () -> pool.allocate(1L << 50, s).close());
            assertTrue(e.getMessage().contains("1073741824.0 MiB") && e.getMessage().contains("micro-batch"), e.getMessage());
            // The failure left no sticky error: the next allocation works.
            try (DeviceBuffer ok = pool.allocate(1 << 20, s)) {
                ok.fillAsync(0, 0, 1 << 20, s);
            }
            s.synchronize();
        }
    }
}
