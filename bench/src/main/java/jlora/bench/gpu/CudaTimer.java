package jlora.bench.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.CudaStream;
import jlora.backend.cuda.DeviceBuffer;
import jlora.tensor.HalfFloats;

/**
 * CUDA-event timing on one stream for the GEMM-shaped drivers: {@value #WARMUP} warm-ups, then
 * the median of {@value #TIMED} single launches (each between two events), and random operands
 * (zeros would flatter tensor cores: less toggling, less power).
 */
final class CudaTimer {
    static final int WARMUP = 3;
    static final int TIMED = 15;

    private CudaTimer() {}

    static double medianMs(CudaApi api, CudaStream stream, Runnable launch) {
        return median(api, stream, WARMUP, TIMED, launch);
    }

    /** As above on the legacy default stream (where the launches under test run), with its own counts. */
    static double medianMs(CudaApi api, int warmup, int reps, Runnable launch) {
        return median(api, null, warmup, reps, launch);
    }

    private static double median(CudaApi api, CudaStream stream, int warmup, int reps, Runnable launch) {
        for (int i = 0; i < warmup; i++) launch.run();
        if (stream == null) api.synchronize();
        else stream.synchronize();
        MemorySegment start = api.eventCreate(), end = api.eventCreate();
        try {
            double[] ms = new double[reps];
            for (int i = 0; i < reps; i++) {
                if (stream == null) api.eventRecord(start);
                else api.eventRecord(start, stream);
                launch.run();
                if (stream == null) api.eventRecord(end);
                else api.eventRecord(end, stream);
                ms[i] = api.eventElapsedMs(start, end);
            }
            Arrays.sort(ms);
            return reps % 2 == 1 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2;
        } finally {
            api.eventDestroy(start);
            api.eventDestroy(end);
        }
    }

    /**
     * Mean GPU time per launch of {@value #TIMED} launches queued back to back between two
     * events: the host enqueues ahead of the device as in a training step, so an op made of
     * several short kernels is not charged the host's launch latency the way one isolated launch
     * between events charges it ({@link #medianMs}).
     */
    static double queuedMs(CudaApi api, CudaStream stream, Runnable launch) {
        for (int i = 0; i < WARMUP; i++) launch.run();
        stream.synchronize();
        MemorySegment start = api.eventCreate(), end = api.eventCreate();
        try {
            api.eventRecord(start, stream);
            for (int i = 0; i < TIMED; i++) launch.run();
            api.eventRecord(end, stream);
            return api.eventElapsedMs(start, end) / TIMED;
        } finally {
            api.eventDestroy(start);
            api.eventDestroy(end);
        }
    }

    /** A device buffer of {@code n} random bf16 (gaussian · scale), filled from a 4 Mi-element host chunk. */
    static DeviceBuffer randomBf16(CudaApi api, long n, double scale, SplittableRandom r) {
        DeviceBuffer b = new DeviceBuffer(api, 2 * n);
        long chunk = Math.min(n, 1L << 22);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2 * chunk, 16);
            for (long i = 0; i < chunk; i++) host.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.f32ToBf16((float) (r.nextGaussian() * scale)));
            for (long off = 0; off < n; off += chunk) {
                long len = Math.min(chunk, n - off);
                api.copyToDevice(b.at(2 * off, 2 * len), host, 2 * len);
            }
        }
        return b;
    }

    /** A device buffer of {@code n} random f32. */
    static DeviceBuffer randomF32(CudaApi api, long n, double scale, SplittableRandom r) {
        DeviceBuffer b = new DeviceBuffer(api, 4 * n);
        long chunk = Math.min(n, 1L << 22);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4 * chunk, 16);
            for (long i = 0; i < chunk; i++) host.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * scale));
            for (long off = 0; off < n; off += chunk) {
                long len = Math.min(chunk, n - off);
                api.copyToDevice(b.at(4 * off, 4 * len), host, 4 * len);
            }
        }
        return b;
    }
}
