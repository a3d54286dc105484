package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into libjlora_cuda.so (native/jlora_cuda.h), one Java method per C function.
 * Every status is checked: a non-zero one becomes a {@link CudaException} carrying the
 * library's jl_last_error() text, read on the same thread right after the failing call.
 * Device pointers travel as zero-length {@link MemorySegment}s; host buffers must be native
 * (off-heap) segments. The error text is thread-local in the library, so call from platform
 * threads (a virtual thread may change carrier between the failing call and the read).
 */
public final class CudaApi {
    private static final Linker LINKER = Linker.nativeLinker();
    /** jl_device_info in native/jlora_cuda.h: char name[256]; int32 x4; int64 x4. */
    static final MemoryLayout DEVICE_INFO = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(256, JAVA_BYTE).withName("name"),
            JAVA_INT.withName("major"), JAVA_INT.withName("minor"),
            JAVA_INT.withName("multiprocessors"), JAVA_INT.withName("pci_bus"),
            JAVA_LONG.withName("total_bytes"), JAVA_LONG.withName("free_bytes"),
            JAVA_LONG.withName("l2_bytes"), JAVA_LONG.withName("shared_per_block_optin"));

    private final MethodHandle lastError, errorName, runtimeVersion, driverVersion, deviceCount, deviceInfo,
            setDevice, malloc, free, memcpyH2d, memcpyD2h, memcpyD2d, memsetD, synchronize,
            eventCreate, eventDestroy, eventRecord, eventElapsedMs, castF32ToBf16, castBf16ToF32, castF32ToBf16Host;

    private final SymbolLookup symbols;

    CudaApi(SymbolLookup symbols) {
        this.symbols = symbols;
        lastError = bind(symbols, "jl_last_error", FunctionDescriptor.of(ADDRESS));
        errorName = bind(symbols, "jl_error_name", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        runtimeVersion = bind(symbols, "jl_runtime_version", status(ADDRESS));
        driverVersion = bind(symbols, "jl_driver_version", status(ADDRESS));
        deviceCount = bind(symbols, "jl_device_count", status(ADDRESS));
        deviceInfo = bind(symbols, "jl_device_info_get", status(JAVA_INT, ADDRESS));
        setDevice = bind(symbols, "jl_set_device", status(JAVA_INT));
        malloc = bind(symbols, "jl_malloc", status(ADDRESS, JAVA_LONG));
        free = bind(symbols, "jl_free", status(ADDRESS));
        memcpyH2d = bind(symbols, "jl_memcpy_h2d", status(ADDRESS, ADDRESS, JAVA_LONG));
        memcpyD2h = bind(symbols, "jl_memcpy_d2h", status(ADDRESS, ADDRESS, JAVA_LONG));
        memcpyD2d = bind(symbols, "jl_memcpy_d2d", status(ADDRESS, ADDRESS, JAVA_LONG));
        memsetD = bind(symbols, "jl_memset_d", status(ADDRESS, JAVA_INT, JAVA_LONG));
        synchronize = bind(symbols, "jl_synchronize", status());
        eventCreate = bind(symbols, "jl_event_create", status(ADDRESS));
        eventDestroy = bind(symbols, "jl_event_destroy", status(ADDRESS));
        eventRecord = bind(symbols, "jl_event_record", status(ADDRESS, ADDRESS));
        eventElapsedMs = bind(symbols, "jl_event_elapsed_ms", status(ADDRESS, ADDRESS, ADDRESS));
        castF32ToBf16 = bind(symbols, "jl_cast_f32_to_bf16", status(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        castBf16ToF32 = bind(symbols, "jl_cast_bf16_to_f32", status(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        castF32ToBf16Host = bind(symbols, "jl_cast_f32_to_bf16_host", status(ADDRESS, ADDRESS, JAVA_LONG));
    }

    private static CudaApi shared;
    private StreamCalls streamCalls;

    /** Stream and pool downcalls (native/stream.cpp), bound on first use. */
    synchronized StreamCalls streamCalls() {
        if (streamCalls == null) streamCalls = new StreamCalls(this);
        return streamCalls;
    }

    /**
     * The API over the library {@link NativeLibrary#load()} found (bound once per JVM), or a
     * {@link CudaUnavailableException} carrying the status text. A loaded library does not
     * mean a GPU: {@link CudaDevices#query()} says whether one answers.
     */
    public static synchronized CudaApi require() {
        if (shared == null) {
            shared = switch (NativeLibrary.load()) {
                case NativeLibrary.Loaded loaded -> new CudaApi(loaded.symbols());
                case NativeLibrary.NotBuilt notBuilt -> throw new CudaUnavailableException(notBuilt.message());
                case NativeLibrary.LoadFailed failed -> throw new CudaUnavailableException(failed.message());
            };
        }
        return shared;
    }

    private static FunctionDescriptor status(MemoryLayout... args) {
        return FunctionDescriptor.of(JAVA_INT, args);
    }

    private static MethodHandle bind(SymbolLookup symbols, String name, FunctionDescriptor fd) {
        MemorySegment symbol = symbols.find(name).orElseThrow(() -> new IllegalStateException(
                "libjlora_cuda.so lacks " + name + ": the packaged library is older than the Java code; rebuild"));
        return LINKER.downcallHandle(symbol, fd);
    }

    /**
     * Binds {@code int name(args...)} of the library: the kernel wrapper classes bind their own
     * family's entry points with this, so that this class does not grow with every kernel.
     */
    MethodHandle bindStatus(String name, MemoryLayout... args) {
        return bind(symbols, name, status(args));
    }

    MethodHandle bind(String name, FunctionDescriptor fd) {
        return bind(symbols, name, fd);
    }

    // --- status checking ---

    private void check(String function, int status) {
        if (status == 0) return;
        throw new CudaException(function, status, cString(call(() -> (MemorySegment) errorName.invokeExact(status))),
                cString(call(() -> (MemorySegment) lastError.invokeExact())));
    }

    private static String cString(MemorySegment pointer) {
        return pointer.equals(MemorySegment.NULL) ? "" : pointer.reinterpret(4096).getString(0);
    }

    @FunctionalInterface
    interface Downcall<T> {
        T invoke() throws Throwable;
    }

    static <T> T call(Downcall<T> downcall) {
        try {
            return downcall.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("downcall failed", t);
        }
    }

    /** Runs a downcall returning a status; a non-zero one becomes a {@link CudaException}. */
    void run(String function, Downcall<Integer> downcall) {
        check(function, call(downcall));
    }

    private int intOut(String function, MethodHandle handle) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            run(function, () -> (int) handle.invokeExact(out));
            return out.get(JAVA_INT, 0);
        }
    }

    // --- device query ---

    public int runtimeVersion() {
        return intOut("jl_runtime_version", runtimeVersion);
    }

    /** 0 when no CUDA driver (libcuda.so.1) could be loaded. */
    public int driverVersion() {
        return intOut("jl_driver_version", driverVersion);
    }

    public int deviceCount() {
        return intOut("jl_device_count", deviceCount);
    }

    /** Fills a {@link #DEVICE_INFO} struct allocated in {@code arena}. */
    MemorySegment deviceInfo(int device, Arena arena) {
        MemorySegment out = arena.allocate(DEVICE_INFO);
        run("jl_device_info_get", () -> (int) deviceInfo.invokeExact(device, out));
        return out;
    }

    public void setDevice(int device) {
        run("jl_set_device", () -> (int) setDevice.invokeExact(device));
    }

    public void synchronize() {
        run("jl_synchronize", () -> (int) synchronize.invokeExact());
    }

    // --- memory ---

    /** cudaMalloc; the caller frees with {@link #free}. Prefer {@link DeviceBuffer}. */
    public MemorySegment malloc(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            run("jl_malloc", () -> (int) malloc.invokeExact(out, bytes));
            return out.get(ADDRESS, 0);
        }
    }

    public void free(MemorySegment devicePointer) {
        run("jl_free", () -> (int) free.invokeExact(devicePointer));
    }

    public void copyToDevice(MemorySegment dst, MemorySegment hostSrc, long bytes) {
        requireNative(hostSrc, bytes);
        run("jl_memcpy_h2d", () -> (int) memcpyH2d.invokeExact(dst, hostSrc, bytes));
    }

    public void copyToHost(MemorySegment hostDst, MemorySegment src, long bytes) {
        requireNative(hostDst, bytes);
        run("jl_memcpy_d2h", () -> (int) memcpyD2h.invokeExact(hostDst, src, bytes));
    }

    public void copyDeviceToDevice(MemorySegment dst, MemorySegment src, long bytes) {
        run("jl_memcpy_d2d", () -> (int) memcpyD2d.invokeExact(dst, src, bytes));
    }

    public void memset(MemorySegment dst, int byteValue, long bytes) {
        run("jl_memset_d", () -> (int) memsetD.invokeExact(dst, byteValue, bytes));
    }

    private static void requireNative(MemorySegment host, long bytes) {
        if (!host.isNative()) throw new IllegalArgumentException("host buffer must be a native (off-heap) segment");
        if (host.byteSize() < bytes) {
            throw new IndexOutOfBoundsException("host buffer has " + host.byteSize() + " bytes, copy needs " + bytes);
        }
    }

    // --- events (benchmark timing) ---

    public MemorySegment eventCreate() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            run("jl_event_create", () -> (int) eventCreate.invokeExact(out));
            return out.get(ADDRESS, 0);
        }
    }

    public void eventDestroy(MemorySegment event) {
        run("jl_event_destroy", () -> (int) eventDestroy.invokeExact(event));
    }

    /** Records on the legacy default stream. */
    public void eventRecord(MemorySegment event) {
        run("jl_event_record", () -> (int) eventRecord.invokeExact(event, MemorySegment.NULL));
    }

    /** Records on {@code stream}. */
    public void eventRecord(MemorySegment event, CudaStream stream) {
        MemorySegment s = stream.handle();
        run("jl_event_record", () -> (int) eventRecord.invokeExact(event, s));
    }

    /** Waits for {@code end}, then returns the milliseconds between the two events. */
    public float eventElapsedMs(MemorySegment start, MemorySegment end) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_FLOAT);
            run("jl_event_elapsed_ms", () -> (int) eventElapsedMs.invokeExact(start, end, out));
            return out.get(JAVA_FLOAT, 0);
        }
    }

    // --- kernels (raw pointers; CastKernels checks bounds) ---

    void castF32ToBf16(MemorySegment src, MemorySegment dst, long n) {
        run("jl_cast_f32_to_bf16", () -> (int) castF32ToBf16.invokeExact(src, dst, n, MemorySegment.NULL));
    }

    /** The kernels' rounding function on the CPU (native/cast.cpp), over native host segments. */
    void castF32ToBf16Host(MemorySegment src, MemorySegment dst, long n) {
        requireNative(src, 4 * n);
        requireNative(dst, 2 * n);
        run("jl_cast_f32_to_bf16_host", () -> (int) castF32ToBf16Host.invokeExact(src, dst, n));
    }

    void castBf16ToF32(MemorySegment src, MemorySegment dst, long n) {
        run("jl_cast_bf16_to_f32", () -> (int) castBf16ToF32.invokeExact(src, dst, n, MemorySegment.NULL));
    }
}
