package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;
import jlora.UserError;

/**
 * The few cuBLASLt entry points a GEMM needs (cublasLt.h, CUDA 13), bound with Panama from
 * libcublasLt.so.13 wherever {@link CudaLibraries} finds it.
 *
 * <p>Why Panama and not the JavaCPP presets (org.bytedeco:cuda 13.1-9.19-1.5.13) that DESIGN.md
 * names: the presets' JNI jar (4.8 MiB, plus 1 MiB of classes) is built against CUDA 13.1 and
 * expects the CUDA 13.1 shared libraries on the loader path (there is no -redist jar for this
 * version on Maven Central), while the GPU machine has the 13.0 driver and the cu13 libraries of
 * torch's wheels, found only by a folder search that JavaCPP's Loader does not do. Its JNI layer
 * also brings a second, dynamic cudart beside the static one in libjlora_cuda.so. cuBLASLt is a
 * plain C API of a dozen functions over opaque pointers: binding them here is smaller, loads the
 * library from the folder we found, and keeps one FFI (Panama) for everything native.
 *
 * <p>Enum values are the header's: cublasComputeType_t CUBLAS_COMPUTE_32F = 68; cudaDataType
 * CUDA_R_32F = 0, CUDA_R_16BF = 14; cublasOperation_t N = 0, T = 1;
 * cublasLtMatmulDescAttributes_t TRANSA = 3, TRANSB = 4, EPILOGUE = 7, BIAS_POINTER = 8 (the bias has
 * D's type: BIAS_DATA_TYPE is left at its default); cublasLtEpilogue_t BIAS = 4; cublasLtMatmulPreferenceAttributes_t
 * MAX_WORKSPACE_BYTES = 1, MIN_ALIGNMENT_{A,B,C,D}_BYTES = 5..8.
 */
final class CublasLt {
    static final String LIBRARY = "libcublasLt.so.13";
    static final int COMPUTE_32F = 68;
    static final int R_32F = 0, R_16BF = 14;
    static final int OP_N = 0, OP_T = 1;
    static final int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8;
    /** cublasLtEpilogue_t CUBLASLT_EPILOGUE_BIAS: D = alpha·A·B + beta·C + bias broadcast along D's columns. */
    static final int EPILOGUE_BIAS = 4;
    static final int PREF_MAX_WORKSPACE_BYTES = 1, PREF_MIN_ALIGNMENT_A = 5;
    /** cublasLtMatmulHeuristicResult_t: algo (uint64[8]), size_t workspaceSize, int state, float waves, int[4]. */
    static final long HEURISTIC_BYTES = 96, ALGO_BYTES = 64, HEURISTIC_WORKSPACE_OFFSET = 64, HEURISTIC_STATE_OFFSET = 72;

    private static final Linker LINKER = Linker.nativeLinker();
    final Path origin;
    private final MethodHandle create, destroy, statusName, version, descCreate, descSet, descDestroy, layoutCreate,
            layoutDestroy, prefCreate, prefSet, prefDestroy, heuristic, matmul;

    private CublasLt(SymbolLookup lib, Path origin) {
        this.origin = origin;
        create = bind(lib, "cublasLtCreate", ADDRESS);
        destroy = bind(lib, "cublasLtDestroy", ADDRESS);
        statusName = lib.find("cublasLtGetStatusName").map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(ADDRESS, JAVA_INT)))
                .orElse(null);
        version = LINKER.downcallHandle(find(lib, "cublasLtGetVersion"), FunctionDescriptor.of(JAVA_LONG));
        descCreate = bind(lib, "cublasLtMatmulDescCreate", ADDRESS, JAVA_INT, JAVA_INT);
        descSet = bind(lib, "cublasLtMatmulDescSetAttribute", ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        descDestroy = bind(lib, "cublasLtMatmulDescDestroy", ADDRESS);
        layoutCreate = bind(lib, "cublasLtMatrixLayoutCreate", ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        layoutDestroy = bind(lib, "cublasLtMatrixLayoutDestroy", ADDRESS);
        prefCreate = bind(lib, "cublasLtMatmulPreferenceCreate", ADDRESS);
        prefSet = bind(lib, "cublasLtMatmulPreferenceSetAttribute", ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        prefDestroy = bind(lib, "cublasLtMatmulPreferenceDestroy", ADDRESS);
        heuristic = bind(lib, "cublasLtMatmulAlgoGetHeuristic", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        matmul = bind(lib, "cublasLtMatmul", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
    }

    private static CublasLt shared;

    /**
     * Loads libcublasLt.so.13 once per JVM: from the first folder of {@link CudaLibraries#searchPath()}
     * holding it, else by name through the dynamic linker's own path (ld.so.cache). Neither: the
     * UserError of {@link CudaLibraries#find} (every folder searched, the variable to set).
     */
    static synchronized CublasLt require() {
        if (shared == null) shared = load(CudaLibraries.system());
        return shared;
    }

    static CublasLt load(CudaLibraries libraries) {
        Optional<Path> found = libraries.tryFind(LIBRARY);
        if (found.isPresent()) {
            try {
                return new CublasLt(SymbolLookup.libraryLookup(found.get(), Arena.global()), found.get());
            } catch (IllegalArgumentException e) {
                throw new UserError(found.get() + " could not be loaded (" + e.getMessage() + "); point -D"
                        + CudaLibraries.PROPERTY + " at a folder with a working CUDA 13 " + LIBRARY);
            }
        }
        try {
            return new CublasLt(SymbolLookup.libraryLookup(LIBRARY, Arena.global()), Path.of(LIBRARY));
        } catch (IllegalArgumentException e) {
            libraries.find(LIBRARY); // throws the UserError that lists the folders
            throw new IllegalStateException("unreachable");
        }
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new UserError("the cuBLASLt library lacks " + name
                + ": it is older than CUDA 13; point -D" + CudaLibraries.PROPERTY + " at a CUDA 13 " + LIBRARY));
    }

    private static MethodHandle bind(SymbolLookup lib, String name, MemoryLayout... args) {
        return LINKER.downcallHandle(find(lib, name), FunctionDescriptor.of(JAVA_INT, args));
    }

    // --- status ---

    /** A non-zero cublasStatus_t becomes a CudaException naming the call and the status. */
    void check(String function, int status) {
        if (status == 0) return;
        throw new CudaException(function, status, statusName(status), "cuBLASLt (" + origin + ")");
    }

    String statusName(int status) {
        if (statusName != null) {
            MemorySegment p = CudaApi.call(() -> (MemorySegment) statusName.invokeExact(status));
            if (!p.equals(MemorySegment.NULL)) return p.reinterpret(256).getString(0);
        }
        return "cublasStatus_t " + status;
    }

    private void run(String function, CudaApi.Downcall<Integer> call) {
        check(function, CudaApi.call(call));
    }

    private MemorySegment pointerOut(String function, PointerCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            run(function, () -> call.invoke(out));
            return out.get(ADDRESS, 0);
        }
    }

    @FunctionalInterface
    private interface PointerCall {
        int invoke(MemorySegment out) throws Throwable;
    }

    // --- calls ---

    long version() {
        return CudaApi.call(() -> (long) version.invokeExact());
    }

    MemorySegment create() {
        return pointerOut("cublasLtCreate", out -> (int) create.invokeExact(out));
    }

    void destroy(MemorySegment handle) {
        run("cublasLtDestroy", () -> (int) destroy.invokeExact(handle));
    }

    MemorySegment descCreate(int computeType, int scaleType) {
        return pointerOut("cublasLtMatmulDescCreate", out -> (int) descCreate.invokeExact(out, computeType, scaleType));
    }

    void descSetInt(MemorySegment desc, int attribute, int value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(JAVA_INT);
            buf.set(JAVA_INT, 0, value);
            run("cublasLtMatmulDescSetAttribute", () -> (int) descSet.invokeExact(desc, attribute, buf, 4L));
        }
    }

    void descSetPointer(MemorySegment desc, int attribute, MemorySegment pointer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(ADDRESS);
            buf.set(ADDRESS, 0, pointer);
            run("cublasLtMatmulDescSetAttribute", () -> (int) descSet.invokeExact(desc, attribute, buf, 8L));
        }
    }

    void descDestroy(MemorySegment desc) {
        run("cublasLtMatmulDescDestroy", () -> (int) descDestroy.invokeExact(desc));
    }

    /** A column-major layout: rows × cols with leading dimension ld (elements between columns). */
    MemorySegment layoutCreate(int type, long rows, long cols, long ld) {
        return pointerOut("cublasLtMatrixLayoutCreate", out -> (int) layoutCreate.invokeExact(out, type, rows, cols, ld));
    }

    void layoutDestroy(MemorySegment layout) {
        run("cublasLtMatrixLayoutDestroy", () -> (int) layoutDestroy.invokeExact(layout));
    }

    MemorySegment prefCreate() {
        return pointerOut("cublasLtMatmulPreferenceCreate", out -> (int) prefCreate.invokeExact(out));
    }

    void prefSetU64(MemorySegment pref, int attribute, long value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(JAVA_LONG);
            buf.set(JAVA_LONG, 0, value);
            run("cublasLtMatmulPreferenceSetAttribute", () -> (int) prefSet.invokeExact(pref, attribute, buf, 8L));
        }
    }

    void prefSetU32(MemorySegment pref, int attribute, int value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(JAVA_INT);
            buf.set(JAVA_INT, 0, value);
            run("cublasLtMatmulPreferenceSetAttribute", () -> (int) prefSet.invokeExact(pref, attribute, buf, 4L));
        }
    }

    void prefDestroy(MemorySegment pref) {
        run("cublasLtMatmulPreferenceDestroy", () -> (int) prefDestroy.invokeExact(pref));
    }

    /** Fills {@code results} (n × {@link #HEURISTIC_BYTES}); returns how many were written. */
    int heuristic(MemorySegment handle, MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c,
            MemorySegment d, MemorySegment pref, int requested, MemorySegment results) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            run("cublasLtMatmulAlgoGetHeuristic",
                    () -> (int) heuristic.invokeExact(handle, desc, a, b, c, d, pref, requested, results, count));
            return count.get(JAVA_INT, 0);
        }
    }

    void matmul(MemorySegment handle, MemorySegment desc, MemorySegment alpha, MemorySegment a, MemorySegment aDesc,
            MemorySegment b, MemorySegment bDesc, MemorySegment beta, MemorySegment c, MemorySegment cDesc,
            MemorySegment d, MemorySegment dDesc, MemorySegment algo, MemorySegment workspace, long workspaceBytes,
            MemorySegment stream) {
        run("cublasLtMatmul", () -> (int) matmul.invokeExact(handle, desc, alpha, a, aDesc, b, bDesc, beta, c, cDesc, d,
                dDesc, algo, workspace, workspaceBytes, stream));
    }
}
