package jlora.bench.gpu;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.SplittableRandom;
import jlora.backend.cuda.CastKernels;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.DeviceBuffer;

/**
 * f32 ⇄ bf16 cast bandwidth against the roofline measured in the same run: a device-to-device
 * cudaMemcpy of the same size. Bytes moved count each input read once and each output written
 * once (6 bytes per element for either cast, 2 × size for the copy). Inputs are random, never
 * zeros; each figure is the mean of {@value #TIMED} launches after {@value #WARMUP} warm-ups.
 */
final class CastBandwidth implements GpuBenchmark {
    private static final int WARMUP = 3;
    private static final int TIMED = 20;
    private static final long N = 1L << 28; // 1 GiB of f32: far past any L2
    private static final long CHUNK = 1L << 24;

    @Override
    public String name() {
        return "cast";
    }

    @Override
    public void run(CudaApi api, PrintStream out) {
        CastKernels cast = new CastKernels(api);
        try (DeviceBuffer f32 = new DeviceBuffer(api, 4 * N);
                DeviceBuffer bf16 = new DeviceBuffer(api, 2 * N);
                DeviceBuffer copy = new DeviceBuffer(api, 4 * N);
                Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4 * CHUNK, 16);
            SplittableRandom random = new SplittableRandom();
            for (long i = 0; i < CHUNK; i++) host.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
            for (long off = 0; off < N; off += CHUNK) api.copyToDevice(f32.at(4 * off, 4 * CHUNK), host, 4 * CHUNK);
            cast.f32ToBf16(f32, 0, bf16, 0, N); // bf16 input for the widening cast

            double copyMs = time(api, () -> api.copyDeviceToDevice(copy.at(0, 4 * N), f32.at(0, 4 * N), 4 * N));
            double narrowMs = time(api, () -> cast.f32ToBf16(f32, 0, bf16, 0, N));
            double widenMs = time(api, () -> cast.bf16ToF32(bf16, 0, f32, 0, N));
            double roof = gbPerS(8 * N, copyMs);
            out.println();
            out.printf(Locale.ROOT, "n = %d elements (%.0f MiB of f32), mean of %d after %d warm-ups, CUDA events%n%n",
                    N, 4 * N / 1048576.0, TIMED, WARMUP);
            out.println("| op | ms | GB/s (read + write) | vs D2D copy |");
            out.println("|---|---:|---:|---:|");
            row(out, "cudaMemcpy D2D (roofline)", copyMs, 8 * N, roof);
            row(out, "cast f32 -> bf16", narrowMs, 6 * N, roof);
            row(out, "cast bf16 -> f32", widenMs, 6 * N, roof);
        }
    }

    private static void row(PrintStream out, String op, double ms, long bytes, double roof) {
        double gbs = gbPerS(bytes, ms);
        out.printf(Locale.ROOT, "| %s | %.3f | %.0f | %.2f |%n", op, ms, gbs, gbs / roof);
    }

    private static double gbPerS(long bytes, double ms) {
        return bytes / (ms * 1e6);
    }

    private static double time(CudaApi api, Runnable launch) {
        for (int i = 0; i < WARMUP; i++) launch.run();
        api.synchronize();
        MemorySegment start = api.eventCreate();
        MemorySegment end = api.eventCreate();
        try {
            api.eventRecord(start);
            for (int i = 0; i < TIMED; i++) launch.run();
            api.eventRecord(end);
            return api.eventElapsedMs(start, end) / TIMED;
        } finally {
            api.eventDestroy(start);
            api.eventDestroy(end);
        }
    }
}
