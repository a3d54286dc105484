package jlora.bench.gpu;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import jlora.backend.cuda.AdamW8bitKernels;
import jlora.backend.cuda.AdamWKernels;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.DeviceBuffer;
import jlora.backend.cuda.HostLink;
import jlora.backend.cuda.PinnedHostBuffer;
import jlora.train.AdamHyperparameters;
import jlora.train.AdamW8bit;

/**
 * One optimizer step over N = 160 Mi parameters (a 7B model's LoRA r = 64 on every linear is
 * ~160 M): the fp32-state AdamW kernel (torch's update order), the 8-bit blockwise AdamW with state
 * resident on the device, and the same with paged state (pinned host memory streamed through two
 * device chunks of {@value #CHUNK} elements). Rooflines measured in the same run: a
 * device-to-device copy (read + write) for the resident kernels, the pinned host link (H2D, D2H
 * and both directions at once) for the paged one. Bytes per element, each array read or written
 * once: fp32 AdamW 28 (p r/w, g, m r/w, v r/w); 8-bit 16 + 16/256 (p r/w, g, two codes r/w, two
 * absmax r/w); paged moves 2 + 8/256 bytes per element each way over the host link. Median of
 * {@value #TIMED} steps after {@value #WARMUP} warm-ups (state non-zero by then), CUDA events.
 * Writes $JLORA_BENCH_DIR/adamw_jlora.tsv for bench/peers/torch_adamw.py
 * (torch.optim.AdamW(fused=True) on the same count).
 */
final class AdamW8bitBench implements GpuBenchmark {
    private static final int WARMUP = 3;
    private static final int TIMED = 11;
    static final long N = 160L << 20;
    private static final long CHUNK = 1L << 22;
    private static final long LINK_BYTES = 256L << 20;
    /** cuda/adamw8bit.cuh's resident-kernel variants (0 is the production one, timed twice). */
    private static final String[] VARIANTS = {"moments kept", "moments recomputed", "heap-ordered search",
        "heap-ordered search, moments recomputed", "selects instead of branches", "selects, heap-ordered search",
        "selects, heap-ordered search, moments recomputed", "selects, persistent grid", "persistent grid",
        "selects, persistent grid, next block prefetched"};

    @Override
    public String name() {
        return "adamw";
    }

    @Override
    public void run(CudaApi api, PrintStream out) {
        long blocks = Math.ceilDiv(N, 256L);
        AdamHyperparameters hp = AdamHyperparameters.defaults();
        AdamW8bit.Constants c = AdamW8bit.Constants.of(hp, 1e-4, 10);
        var s = new AdamW8bitKernels.Scalars(c.beta1(), c.beta2(), c.eps(), c.lr(), c.weightDecay(), c.correction2(),
                c.stepSize());
        var fp32 = new AdamWKernels.Hyper(1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f);
        AdamWKernels adamw = new AdamWKernels(api);
        HostLink link = new HostLink(api);
        SplittableRandom r = new SplittableRandom();
        try (AdamW8bitKernels k = new AdamW8bitKernels(api);
                DeviceBuffer p = uniform(api, r, N, 0.02);
                DeviceBuffer g = uniform(api, r, N, 1e-3);
                DeviceBuffer m = zeros(api, 4 * N);
                DeviceBuffer v = zeros(api, 4 * N);
                AdamW8bitKernels.DeviceState resident = AdamW8bitKernels.DeviceState.allocate(api, N);
                AdamW8bitKernels.HostState paged = AdamW8bitKernels.HostState.allocate(api, N);
                AdamW8bitKernels.Pager pager = k.pager(CHUNK);
                PinnedHostBuffer h1 = new PinnedHostBuffer(api, LINK_BYTES);
                PinnedHostBuffer h2 = new PinnedHostBuffer(api, LINK_BYTES)) {
            h1.segment().fill((byte) 0x5A);
            h2.segment().fill((byte) 0xA5);
            double h2d = link.copyMs(h1, null, m, null, LINK_BYTES, HostLink.Direction.HOST_TO_DEVICE, TIMED);
            double d2h = link.copyMs(h1, null, m, null, LINK_BYTES, HostLink.Direction.DEVICE_TO_HOST, TIMED);
            double both = link.copyMs(h1, h2, m, v, LINK_BYTES, HostLink.Direction.BOTH_AT_ONCE, TIMED);
            double copyMs = CudaTimer.medianMs(api, WARMUP, TIMED,
                    () -> api.copyDeviceToDevice(m.at(0, 4 * N), v.at(0, 4 * N), 4 * N));
            m.fill(0); // the link and copy timings used m and v as scratch: AdamW starts from zero state
            v.fill(0);
            long[] t = {0};
            double fp32Ms = CudaTimer.medianMs(api, WARMUP, TIMED, () -> adamw.step(p, g, m, v, N, fp32, 10 + t[0]++, null, 0));
            double residentMs = CudaTimer.medianMs(api, WARMUP, TIMED, () -> k.step(p, g, resident, s, null, 0));
            double pagedMs = CudaTimer.medianMs(api, WARMUP, TIMED, () -> k.step(p, g, paged, pager, s, null, 0));
            double residentAgainMs = CudaTimer.medianMs(api, WARMUP, TIMED, () -> k.step(p, g, resident, s, null, 0));
            double[] variantMs = new double[k.variants()];
            for (int variant = 1; variant < variantMs.length; variant++) {
                int which = variant;
                variantMs[variant] = CudaTimer.medianMs(api, WARMUP, TIMED, () -> k.step(p, g, resident, s, null, 0, which));
            }

            double copyGbs = 8.0 * N / (copyMs * 1e6);
            double h2dGbs = LINK_BYTES / (h2d * 1e6), d2hGbs = LINK_BYTES / (d2h * 1e6), bothGbs = 2.0 * LINK_BYTES / (both * 1e6);
            long fp32Bytes = 28 * N, q8Bytes = 16 * N + 16 * blocks, linkEach = 2 * N + 8 * blocks;
            // paged floor: each direction's bytes over the measured duplex rate (both links busy at once)
            double pagedFloorMs = 2.0 * linkEach / (bothGbs * 1e6);
            out.println();
            out.printf(Locale.ROOT, "N = %d parameters (%d Mi), f32 param + grad on the device; median of %d steps after %d"
                    + " warm-ups, CUDA events; paged chunk %d elements (device holds %.1f MiB of optimizer state)%n%n", N,
                    N >> 20, TIMED, WARMUP, CHUNK, pager.deviceBytes() / 1048576.0);
            out.println("| op | ms | bytes moved | GB/s | roofline GB/s | vs roofline | optimizer state on device |");
            out.println("|---|---:|---:|---:|---:|---:|---:|");
            out.printf(Locale.ROOT, "| cudaMemcpy D2D %d MiB (roofline) | %.3f | %d | %.0f | %.0f | 1.00 | |%n", 4 * N >> 20,
                    copyMs, 8 * N, copyGbs, copyGbs);
            out.printf(Locale.ROOT, "| pinned H2D %d MiB | %.3f | %d | %.1f | | | |%n", LINK_BYTES >> 20, h2d, LINK_BYTES, h2dGbs);
            out.printf(Locale.ROOT, "| pinned D2H %d MiB | %.3f | %d | %.1f | | | |%n", LINK_BYTES >> 20, d2h, LINK_BYTES, d2hGbs);
            out.printf(Locale.ROOT, "| pinned H2D + D2H at once (paged roofline) | %.3f | %d | %.1f | | | |%n", both,
                    2 * LINK_BYTES, bothGbs);
            row(out, "AdamW fp32 state (torch order)", fp32Ms, fp32Bytes, copyGbs, mib(8 * N));
            row(out, "AdamW 8-bit blockwise, resident", residentMs, q8Bytes, copyGbs, mib(2 * N + 8 * blocks));
            row(out, "AdamW 8-bit blockwise, resident (again)", residentAgainMs, q8Bytes, copyGbs, mib(2 * N + 8 * blocks));
            for (int variant = 1; variant < variantMs.length; variant++) {
                row(out, "AdamW 8-bit blockwise, resident, kernel variant " + variant
                        + (variant < VARIANTS.length ? " (" + VARIANTS[variant] + ")" : ""), variantMs[variant], q8Bytes,
                        copyGbs, mib(2 * N + 8 * blocks));
            }
            double pagedLinkGbs = 2.0 * linkEach / (pagedMs * 1e6);
            out.printf(Locale.ROOT, "| AdamW 8-bit blockwise, paged | %.3f | %d over the link + %d on device | %.1f (link) | %.1f"
                    + " | %.2f | %s |%n", pagedMs, 2 * linkEach, q8Bytes, pagedLinkGbs, bothGbs, pagedLinkGbs / bothGbs,
                    mib(pager.deviceBytes()));
            out.println();
            out.printf(Locale.ROOT, "Paged floor (state over the duplex link) %.3f ms; paged / resident time %.1fx; 8-bit"
                    + " resident / fp32 time %.2f (bytes ratio %.2f).%n", pagedFloorMs, pagedMs / residentMs,
                    residentMs / fp32Ms, (double) q8Bytes / fp32Bytes);
            writeTsv(fp32Ms, residentMs, pagedMs, copyGbs);
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    private static void row(PrintStream out, String op, double ms, long bytes, double roof, String state) {
        double gbs = bytes / (ms * 1e6);
        out.printf(Locale.ROOT, "| %s | %.3f | %d | %.0f | %.0f | %.2f | %s |%n", op, ms, bytes, gbs, roof, gbs / roof, state);
    }

    private static void writeTsv(double fp32Ms, double residentMs, double pagedMs, double copyGbs) {
        Path dir = FlashAttentionBench.resultDir();
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("adamw_jlora.tsv"), String.format(Locale.ROOT,
                    "n\tfp32_ms\tq8_resident_ms\tq8_paged_ms\tcopy_gbs%n%d\t%.4f\t%.4f\t%.4f\t%.1f%n", N, fp32Ms, residentMs,
                    pagedMs, copyGbs));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static DeviceBuffer zeros(CudaApi api, long bytes) {
        DeviceBuffer b = new DeviceBuffer(api, bytes);
        b.fill(0);
        return b;
    }

    /** n random floats, uniform with standard deviation sd (fresh values in every 16 MiB upload). */
    private static DeviceBuffer uniform(CudaApi api, SplittableRandom r, long n, double sd) {
        long chunk = Math.min(n, 1L << 22);
        DeviceBuffer b = new DeviceBuffer(api, 4 * n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4 * chunk, 16);
            for (long off = 0; off < n; off += chunk) {
                long len = Math.min(chunk, n - off);
                for (long i = 0; i < len; i++) host.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) ((r.nextDouble() - 0.5) * sd * 3.4641016));
                api.copyToDevice(b.at(4 * off, 4 * len), host, 4 * len);
            }
        }
        return b;
    }
}
