package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What CUDA this JVM can use: whether the build has the native library, whether a driver and
 * a GPU answer, and the devices. {@link #describe()} is the text of {@code jlora info --devices}.
 * A query never throws; every failure becomes a {@link Report} whose status says why.
 */
public final class CudaDevices {
    private CudaDevices() {}

    public enum Status {
        /** No libjlora_cuda.so in this build (no nvcc at build time). */
        NOT_BUILT,
        /** The library is there but could not be loaded, or no CUDA driver or GPU answered. */
        UNAVAILABLE,
        /** At least one device answered. */
        READY
    }

    /** One GPU as cudaGetDeviceProperties and cudaMemGetInfo see it. */
    public record Device(int index, String name, int major, int minor, int multiprocessors, int pciBus,
                         long totalBytes, long freeBytes, long l2Bytes, long sharedPerBlockOptin) {
        public String computeCapability() {
            return major + "." + minor;
        }
    }

    /**
     * The outcome of a query. {@code message} is the one-line status; versions are CUDA's
     * encoding (1000 * major + 10 * minor), 0 when unknown.
     */
    public record Report(Status status, String message, int runtimeVersion, int driverVersion, List<Device> devices) {
        public Report {
            devices = List.copyOf(devices);
        }

        public String describe() {
            if (status != Status.READY) return message;
            StringBuilder s = new StringBuilder(message);
            for (Device d : devices) {
                s.append(String.format(Locale.ROOT,
                        "%n  cuda:%d  %s  compute %s, %d SMs, %s total, %s free, L2 %s, %s shared/block, PCI bus %d",
                        d.index(), d.name(), d.computeCapability(), d.multiprocessors(), gib(d.totalBytes()),
                        gib(d.freeBytes()), mib(d.l2Bytes()), kib(d.sharedPerBlockOptin()), d.pciBus()));
            }
            return s.toString();
        }
    }

    private static volatile Report cached;

    /** Queries once per JVM (the free-memory figures are those of the first call). */
    public static Report query() {
        Report r = cached;
        if (r == null) {
            r = query(NativeLibrary.load());
            cached = r;
        }
        return r;
    }

    public static List<Device> devices() {
        return query().devices();
    }

    public static String describe() {
        return query().describe();
    }

    static Report query(NativeLibrary.Load load) {
        return switch (load) {
            case NativeLibrary.NotBuilt notBuilt -> new Report(Status.NOT_BUILT, notBuilt.message(), 0, 0, List.of());
            case NativeLibrary.LoadFailed failed -> new Report(Status.UNAVAILABLE, failed.message(), 0, 0, List.of());
            case NativeLibrary.Loaded loaded -> query(new CudaApi(loaded.symbols()));
        };
    }

    static Report query(CudaApi api) {
        int runtime = 0;
        int driver = 0;
        try {
            runtime = api.runtimeVersion();
            driver = api.driverVersion();
            if (driver == 0) {
                return noGpu(runtime, driver, "no CUDA driver (libcuda.so.1 could not be loaded)");
            }
            int count = api.deviceCount();
            if (count == 0) return noGpu(runtime, driver, "the driver sees no device (check CUDA_VISIBLE_DEVICES)");
            List<Device> devices = new ArrayList<>(count);
            try (Arena arena = Arena.ofConfined()) {
                for (int i = 0; i < count; i++) devices.add(read(i, api.deviceInfo(i, arena)));
            }
            String head = String.format(Locale.ROOT, "CUDA runtime %s, driver %s, %d device%s:", version(runtime),
                    version(driver), count, count == 1 ? "" : "s");
            return new Report(Status.READY, head, runtime, driver, devices);
        } catch (CudaException e) {
            return noGpu(runtime, driver, e.getMessage());
        }
    }

    private static Report noGpu(int runtime, int driver, String reason) {
        return new Report(Status.UNAVAILABLE, "libjlora_cuda.so present but no CUDA driver/GPU: " + reason,
                runtime, driver, List.of());
    }

    private static Device read(int index, MemorySegment info) {
        String name = info.asSlice(0, 256).getString(0);
        return new Device(index, name, field(info, "major"), field(info, "minor"), field(info, "multiprocessors"),
                field(info, "pci_bus"), longField(info, "total_bytes"), longField(info, "free_bytes"),
                longField(info, "l2_bytes"), longField(info, "shared_per_block_optin"));
    }

    private static int field(MemorySegment info, String name) {
        return info.get(ValueLayout.JAVA_INT, CudaApi.DEVICE_INFO.byteOffset(PathElement.groupElement(name)));
    }

    private static long longField(MemorySegment info, String name) {
        return info.get(ValueLayout.JAVA_LONG, CudaApi.DEVICE_INFO.byteOffset(PathElement.groupElement(name)));
    }

    static String version(int v) {
        return v <= 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }

    private static String kib(long bytes) {
        return String.format(Locale.ROOT, "%d KiB", bytes / 1024);
    }
}
