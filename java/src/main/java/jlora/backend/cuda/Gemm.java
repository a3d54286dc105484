package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import jlora.tensor.DType;

/**
 * Row-major GEMM through cuBLASLt: {@code C = alpha · op(A) · op(B) + beta · C} with op(A)
 * {@code [m, k]}, op(B) {@code [k, n]}, C {@code [m, n]}; op is a transpose when asked. A and B
 * are both BF16 (tensor cores) or both F32 (true fp32 FMA, no TF32); the product is accumulated in
 * fp32 (CUBLAS_COMPUTE_32F) and alpha / beta are fp32. C is F32 or BF16 (BF16 only with BF16
 * operands); beta = 1 with an F32 C accumulates, as parameter gradients need.
 *
 * <p>cuBLASLt is column-major; a row-major matrix is the column-major view of its transpose,
 * so C = op(A)·op(B) is issued as Cᵀ = op(B)ᵀ·op(A)ᵀ: operands swapped, transposes kept,
 * m and n swapped. The algorithm of each shape (types, transposes, sizes, leading dimensions,
 * pointer alignments) is chosen once by cublasLtMatmulAlgoGetHeuristic and cached with its
 * descriptors. One instance owns a handle and a {@value #WORKSPACE_BYTES}-byte workspace:
 * use one per stream that runs GEMMs concurrently (the workspace is not shared safely across
 * streams), and from one thread at a time.
 */
public final class Gemm implements AutoCloseable {
    /** NVIDIA's recommended cuBLASLt workspace on Hopper (cuBLAS docs, cublasSetWorkspace). */
    public static final long WORKSPACE_BYTES = 32L << 20;

    private final CublasLt lt;
    private final MemorySegment handle;
    private final DeviceBuffer workspace;
    private final Arena scalars = Arena.ofShared();
    private final MemorySegment alphaBeta = scalars.allocate(8, 8);
    private final Map<Key, Plan> plans = new HashMap<>();

    public Gemm(CudaApi api) {
        this.lt = CublasLt.require();
        this.workspace = new DeviceBuffer(api, WORKSPACE_BYTES);
        try {
            this.handle = lt.create();
        } catch (RuntimeException e) {
            workspace.close();
            throw e;
        }
    }

    /** Where libcublasLt came from and its version, for reports. */
    public String describe() {
        return "cuBLASLt " + lt.version() + " from " + lt.origin;
    }

    /** {@code c = alpha · op(a) · op(b) + beta · c} on {@code stream}; see the class comment. */
    public void gemm(CudaStream stream, DeviceMatrix a, boolean transA, DeviceMatrix b, boolean transB, DeviceMatrix c,
            float alpha, float beta) {
        gemm(stream, a, transA, b, transB, c, alpha, beta, null);
    }

    /**
     * As above plus {@code bias} ({@code [1, n]}, C's type, dense) added to every row of C in the
     * GEMM's epilogue (CUBLASLT_EPILOGUE_BIAS), so the bias costs no extra pass over C.
     */
    public void gemm(CudaStream stream, DeviceMatrix a, boolean transA, DeviceMatrix b, boolean transB, DeviceMatrix c,
            float alpha, float beta, DeviceMatrix bias) {
        int m = transA ? a.cols() : a.rows(), k = transA ? a.rows() : a.cols();
        int kb = transB ? b.cols() : b.rows(), n = transB ? b.rows() : b.cols();
        if (k != kb || c.rows() != m || c.cols() != n) {
            throw new IllegalArgumentException(String.format("gemm shapes: op(A) [%d, %d] · op(B) [%d, %d] -> C [%d, %d]", m, k,
                    kb, n, c.rows(), c.cols()));
        }
        if (a.type() != b.type()) throw new IllegalArgumentException("gemm operands differ in type: " + a.type() + " and " + b.type());
        if (a.type() == DType.F32 && c.type() != DType.F32) throw new IllegalArgumentException("F32 operands need an F32 C");
        if (bias != null && (bias.type() != c.type() || bias.rows() != 1 || bias.cols() != c.cols())) {
            throw new IllegalArgumentException("bias must be [1, " + c.cols() + "] of C's type " + c.type());
        }
        if (m == 0 || n == 0) return;
        MemorySegment pa = a.pointer(), pb = b.pointer(), pc = c.pointer();
        if (k == 0) { // nothing to multiply: C = beta · C, which cuBLASLt refuses to do for k = 0
            if (beta != 1f) throw new IllegalArgumentException("gemm with k = 0 supports only beta = 1");
            return;
        }
        // Column-major call: cublas "A" = our B (n × k as op), cublas "B" = our A.
        MemorySegment pbias = bias == null ? null : bias.pointer();
        Key key = new Key(a.type(), c.type(), transA, transB, m, n, k, a.ld(), b.ld(), c.ld(), alignment(pa), alignment(pb),
                alignment(pc), pbias == null ? 0 : alignment(pbias));
        Plan plan = plans.get(key);
        if (plan == null) {
            plan = plan(key, pbias);
            plans.put(key, plan);
        } else if (pbias != null) {
            lt.descSetPointer(plan.desc, CublasLt.DESC_BIAS_POINTER, pbias);
        }
        alphaBeta.set(JAVA_FLOAT, 0, alpha);
        alphaBeta.set(JAVA_FLOAT, 4, beta);
        lt.matmul(handle, plan.desc, alphaBeta.asSlice(0, 4), pb, plan.layoutFirst, pa, plan.layoutSecond,
                alphaBeta.asSlice(4, 4), pc, plan.layoutC, pc, plan.layoutC, plan.algo, workspace.at(0, WORKSPACE_BYTES),
                WORKSPACE_BYTES, stream.handle());
    }

    /** alignBias 0: no bias epilogue. */
    private record Key(DType ab, DType c, boolean transA, boolean transB, int m, int n, int k, long lda, long ldb, long ldc,
            int alignA, int alignB, int alignC, int alignBias) {}

    private record Plan(MemorySegment desc, MemorySegment layoutFirst, MemorySegment layoutSecond, MemorySegment layoutC,
            MemorySegment algo) {}

    private static int cudaType(DType t) {
        return t == DType.F32 ? CublasLt.R_32F : CublasLt.R_16BF;
    }

    /** The largest power of two up to 256 that divides the address (cuBLASLt's alignment preference). */
    private static int alignment(MemorySegment p) {
        long addr = p.address();
        if (addr == 0) return 256;
        return (int) Math.min(256, Long.lowestOneBit(addr));
    }

    private Plan plan(Key key, MemorySegment bias) {
        int ab = cudaType(key.ab), ct = cudaType(key.c);
        MemorySegment desc = lt.descCreate(CublasLt.COMPUTE_32F, CublasLt.R_32F);
        lt.descSetInt(desc, CublasLt.DESC_TRANSA, key.transB ? CublasLt.OP_T : CublasLt.OP_N);
        lt.descSetInt(desc, CublasLt.DESC_TRANSB, key.transA ? CublasLt.OP_T : CublasLt.OP_N);
        if (bias != null) {
            // Column-major D is [n, m]: the bias runs along D's rows, i.e. our columns.
            lt.descSetInt(desc, CublasLt.DESC_EPILOGUE, CublasLt.EPILOGUE_BIAS);
            lt.descSetPointer(desc, CublasLt.DESC_BIAS_POINTER, bias);
        }
        // Our row-major B stored [rows_b, cols_b] is the column-major [cols_b, rows_b] with ld ldb.
        int bRows = key.transB ? key.n : key.k, bCols = key.transB ? key.k : key.n;
        int aRows = key.transA ? key.k : key.m, aCols = key.transA ? key.m : key.k;
        MemorySegment first = lt.layoutCreate(ab, bCols, bRows, key.ldb);
        MemorySegment second = lt.layoutCreate(ab, aCols, aRows, key.lda);
        MemorySegment layoutC = lt.layoutCreate(ct, key.n, key.m, key.ldc);
        MemorySegment pref = lt.prefCreate();
        try (Arena arena = Arena.ofConfined()) {
            lt.prefSetU64(pref, CublasLt.PREF_MAX_WORKSPACE_BYTES, WORKSPACE_BYTES);
            int[] align = {key.alignB, key.alignA, key.alignC, key.alignC}; // cublas A, B, C, D
            for (int i = 0; i < 4; i++) lt.prefSetU32(pref, CublasLt.PREF_MIN_ALIGNMENT_A + i, align[i]);
            MemorySegment results = arena.allocate(CublasLt.HEURISTIC_BYTES, 8);
            int found = lt.heuristic(handle, desc, first, second, layoutC, layoutC, pref, 1, results);
            if (found < 1 || results.get(JAVA_INT, CublasLt.HEURISTIC_STATE_OFFSET) != 0) {
                throw new CudaException("cublasLtMatmulAlgoGetHeuristic", 15, lt.statusName(15), "no cuBLASLt algorithm for "
                        + key);
            }
            if (results.get(JAVA_LONG, CublasLt.HEURISTIC_WORKSPACE_OFFSET) > WORKSPACE_BYTES) {
                throw new IllegalStateException("cuBLASLt algorithm wants more workspace than allowed for " + key);
            }
            MemorySegment algo = scalars.allocate(CublasLt.ALGO_BYTES, 8);
            algo.copyFrom(results.asSlice(0, CublasLt.ALGO_BYTES));
            return new Plan(desc, first, second, layoutC, algo);
        } finally {
            lt.prefDestroy(pref);
        }
    }

    @Override
    public void close() {
        for (Plan p : plans.values()) {
            lt.layoutDestroy(p.layoutFirst);
            lt.layoutDestroy(p.layoutSecond);
            lt.layoutDestroy(p.layoutC);
            lt.descDestroy(p.desc);
        }
        plans.clear();
        lt.destroy(handle);
        workspace.close();
        scalars.close();
    }
}
