package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import jlora.backend.Backend;
import jlora.backend.DenseWeight;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.backend.LossSum;
import jlora.backend.Workspace;
import jlora.nn.Nf4Weight;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * The op set on one CUDA device, with the {@link Backend} contract unchanged: activations are
 * F32 device tensors ({@link Tensor#onDevice}) from the tape's {@link DeviceWorkspace}; frozen
 * parameters arrive as the model's host tensors and are uploaded once, on first use, as they are
 * stored (bf16 / f32; NF4 weights stay NF4 and are dequantized per call into a bf16 scratch);
 * trainable parameters get one flat f32 device master ({@link #parameterGradients}), which the
 * device optimizer updates in place. Host memory is touched only for scalars: the loss sum, the
 * gradient norm, and the document boundaries of a packed row (once per pass).
 *
 * <p>Which kernel runs each op, plainly:
 * <ul>
 *   <li>RMSNorm, RoPE, SwiGLU, embedding, NF4 dequant, casts: the project's kernels;</li>
 *   <li>linear, LoRA linear, the LM head of the cross-entropy: cuBLASLt ({@link Gemm}) — a
 *       bf16 weight (or NF4 dequantized to bf16) meets its activations cast to bf16 (tensor
 *       cores, fp32 accumulation: the GPU numerics of DESIGN.md), f32 operands (LoRA A/B, f32
 *       weights) multiply in true fp32; without cuBLASLt, or with {@code -Djlora.cuda.gemm=simt},
 *       the plain fp32 SIMT GEMM ({@link SimtGemm}), which multiplies everything in fp32;</li>
 *   <li>cross-entropy: GEMM per vocabulary chunk + the ce_chunk kernels (never full logits);</li>
 *   <li>attention: flash attention (bf16 inside: q/k/v/out cast from and to f32) for head
 *       sizes 64 and 128, else the plain fp32 kernel ({@link PlainAttentionKernels}).</li>
 * </ul>
 * Every launch is on the legacy default stream, so the caching allocator's reuse is ordered.
 * Not thread-safe: one training thread drives it.
 */
public final class CudaBackend implements Backend, AutoCloseable {
    /** {@code -Djlora.cuda.attention=plain} forces the fp32 attention for every head size. */
    static final String ATTENTION_PROPERTY = "jlora.cuda.attention";
    /**
     * {@code -Djlora.cuda.fused=true} runs bf16 / NF4 LoRA linears on {@link LoraLinearKernels} and a
     * bf16 LM head's cross-entropy on {@link LmHeadCeKernels} (cuBLASLt path only).
     */
    static final String FUSED_PROPERTY = "jlora.cuda.fused";
    /** {@code -Djlora.cuda.gemm=simt} uses the plain fp32 GEMM instead of cuBLASLt. */
    static final String GEMM_PROPERTY = "jlora.cuda.gemm";

    /** Which GEMM the linear layers run on. */
    public enum GemmPath { CUBLAS, SIMT }

    private final CudaApi api;
    private final DeviceMemory memory;
    private final String device;
    private final SimtGemm gemm;
    private final Gemm cublas;
    private final CudaStream stream;
    private final DevicePool pool;
    private final LoraLinearKernels fused;
    private final LmHeadCeKernels fusedCe;
    private Tensor targetsKey;
    private int[] targetsHost;
    private final Map<Object, LoraLinearKernels.FoldedWeight> folded = new IdentityHashMap<>();
    private final Map<List<Integer>, LoraLinearKernels.FoldedWeight> nf4Folded = new java.util.HashMap<>();
    private final TensorOpsKernels ops;
    private final CeChunkKernels ce;
    private final PlainAttentionKernels plain;
    private final FlashAttentionKernels flash;
    private final RmsNormKernels rms;
    private final RopeKernels rope;
    private final SwigluKernels swiglu;
    private final EmbeddingKernels embedding;
    private final Nf4DequantKernels nf4;
    private final CastKernels cast;
    private final boolean flashAllowed;

    private final Map<Tensor, Tensor> mirrors = new IdentityHashMap<>();
    private final java.util.Set<String> noCublasPlan = new java.util.HashSet<>();
    private final Map<Object, Nf4DequantKernels.Weight> nf4Weights = new IdentityHashMap<>();
    private final Map<Object, Tensor> otherWeights = new IdentityHashMap<>();
    private final List<Long> persistent = new ArrayList<>();
    private Trainables trainables;
    private float[] invFreqKey;
    private long invFreqBlock;
    private Tensor packingKey;
    private Packing packing;
    private boolean closed;

    /** The flat f32 device masters and gradients of the trainable parameters, in registration order. */
    public record Trainables(List<Tensor> hosts, List<Tensor> values, List<Tensor> grads, long numel, long valuesAddress,
                             long gradsAddress) {}

    /** Document boundaries of one packed row, on the host and the device. */
    private record Packing(SequencePacking host, long cuSeqlens, long docStart, long docEnd) {}

    private CudaBackend(CudaApi api, int deviceIndex, GemmPath path) {
        this(api, deviceIndex, path, Boolean.getBoolean(FUSED_PROPERTY));
    }

    private CudaBackend(CudaApi api, int deviceIndex, GemmPath path, boolean fusedLora) {
        this.api = api;
        api.setDevice(deviceIndex);
        this.device = "cuda:" + deviceIndex;
        this.memory = new DeviceMemory(api, deviceIndex);
        this.gemm = new SimtGemm(api);
        this.cublas = path == GemmPath.CUBLAS ? new Gemm(api) : null;
        this.stream = CudaStream.legacyDefault(api);
        if (fusedLora && cublas != null) {
            this.pool = new DevicePool(api, deviceIndex);
            pool.setReleaseThreshold(Long.MAX_VALUE); // a step needs the same scratch sizes again
            this.fused = new LoraLinearKernels(api, cublas, pool);
            this.fusedCe = new LmHeadCeKernels(api, cublas, pool);
        } else {
            this.pool = null;
            this.fused = null;
            this.fusedCe = null;
        }
        this.ops = new TensorOpsKernels(api);
        this.ce = new CeChunkKernels(api);
        this.plain = new PlainAttentionKernels(api);
        this.flash = new FlashAttentionKernels(api);
        this.rms = new RmsNormKernels(api);
        this.rope = new RopeKernels(api);
        this.swiglu = new SwigluKernels(api);
        this.embedding = new EmbeddingKernels(api);
        this.nf4 = new Nf4DequantKernels(api);
        this.cast = new CastKernels(api);
        this.flashAllowed = !"plain".equals(System.getProperty(ATTENTION_PROPERTY));
    }

    /**
     * The backend on device {@code index}: cuBLASLt GEMMs when the library loads (else, or with
     * {@code -Djlora.cuda.gemm=simt}, the SIMT GEMM); {@link CudaUnavailableException} without CUDA.
     */
    public static CudaBackend open(int index) {
        CudaApi api = CudaApi.require();
        if ("simt".equals(System.getProperty(GEMM_PROPERTY))) return new CudaBackend(api, index, GemmPath.SIMT);
        try {
            return new CudaBackend(api, index, GemmPath.CUBLAS);
        } catch (RuntimeException e) {
            System.err.println("jlora: cuBLASLt unavailable (" + e.getMessage() + "); using the plain fp32 GEMM");
            return new CudaBackend(api, index, GemmPath.SIMT);
        }
    }

    /** The backend on device {@code index} with the given GEMM path (tests run both). */
    public static CudaBackend open(int index, GemmPath path) {
        return new CudaBackend(CudaApi.require(), index, path);
    }

    /**
     * With {@code fusedLora}, bf16 / NF4 LoRA linears run on the fused LoRA kernel and a bf16 LM
     * head's cross-entropy on the fused LM-head kernel (both need the cuBLASLt path).
     */
    public static CudaBackend open(int index, GemmPath path, boolean fusedLora) {
        return new CudaBackend(CudaApi.require(), index, path, fusedLora);
    }

    /** True when bf16 / NF4 LoRA linears run on {@link LoraLinearKernels}. */
    public boolean fusedLora() {
        return fused != null;
    }

    public GemmPath gemmPath() {
        return cublas != null ? GemmPath.CUBLAS : GemmPath.SIMT;
    }

    public String deviceName() {
        return device;
    }

    // ---------------------------------------------------------------- memory

    @Override
    public Workspace workspace() {
        return new DeviceWorkspace(this);
    }

    Tensor allocateZeroed(DType dtype, Shape shape) {
        long bytes = dtype.byteSize(shape.numel());
        long a = memory.allocate(bytes, dtype + " " + shape);
        if (bytes > 0) api.memset(MemorySegment.ofAddress(a), 0, bytes);
        return Tensor.onDevice(device, dtype, shape, a);
    }

    void release(long address) {
        memory.release(address);
    }

    /** A device tensor that lives until {@link #close()} (parameters, optimizer state). */
    public Tensor allocatePersistent(DType dtype, Shape shape, String what) {
        long bytes = dtype.byteSize(shape.numel());
        long a = memory.allocate(bytes, what + " " + dtype + " " + shape);
        persistent.add(a);
        if (bytes > 0) api.memset(MemorySegment.ofAddress(a), 0, bytes);
        return Tensor.onDevice(device, dtype, shape, a);
    }

    private long scratch(long bytes, String what) {
        return memory.allocate(bytes, what);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Backend.checkCopy(src, dst);
        long n = src.byteSize();
        if (n == 0) return;
        if (src.isHost() && dst.isHost()) {
            MemorySegment.copy(src.data(), 0, dst.data(), 0, n);
        } else if (src.isHost()) {
            api.copyToDevice(at(dst), src.data(), n);
        } else if (dst.isHost()) {
            api.copyToHost(dst.data(), at(src), n);
        } else {
            api.copyDeviceToDevice(at(dst), at(src), n);
        }
    }

    @Override
    public void zero(Tensor t) {
        if (t.isHost()) t.data().fill((byte) 0);
        else if (t.byteSize() > 0) api.memset(at(t), 0, t.byteSize());
    }

    private MemorySegment at(Tensor t) {
        return MemorySegment.ofAddress(t.deviceAddress());
    }

    private DeviceBuffer buf(Tensor t) {
        return DeviceBuffer.view(api, t.deviceAddress(), Math.max(1, t.byteSize()));
    }

    private DeviceBuffer buf(long address, long bytes) {
        return DeviceBuffer.view(api, address, Math.max(1, bytes));
    }

    /** An activation: must already be an F32 (or, for ids, I32) tensor on this device. */
    private long act(Tensor t, String name) {
        if (t.isHost()) {
            throw new IllegalArgumentException(name + " " + t + " is in host memory; the CUDA backend takes activations"
                    + " from its workspace (Tape.allocate / Tape.ints)");
        }
        if (t.dtype() != DType.F32 && t.dtype() != DType.I32) throw new IllegalArgumentException(name + " must be F32, got " + t);
        return t.deviceAddress();
    }

    // ---------------------------------------------------------------- parameters

    /** The device copy of a host parameter (uploaded once, as stored), or the tensor itself if on the device. */
    private Tensor param(Tensor host) {
        if (!host.isHost()) return host;
        Tensor d = mirrors.get(host);
        if (d == null) {
            d = allocatePersistent(host.dtype(), host.shape(), "parameter");
            copy(host, d);
            mirrors.put(host, d);
        }
        return d;
    }

    /** As {@link #param}, widened to F32 first when stored narrower (norm weights, biases). */
    private Tensor paramF32(Tensor host) {
        if (host.dtype() == DType.F32 || !host.isHost()) return param(host);
        Tensor d = mirrors.get(host);
        if (d == null) {
            try (Arena a = Arena.ofConfined()) {
                Tensor wide = Tensor.of(DType.F32, host.shape(), host.toFloatArray(), a);
                d = allocatePersistent(DType.F32, host.shape(), "parameter");
                copy(wide, d);
            }
            mirrors.put(host, d);
        }
        return d;
    }

    @Override
    public List<Tensor> parameterGradients(List<Tensor> params, Arena hostArena) {
        if (trainables != null) throw new IllegalStateException("trainable parameters are registered once per backend");
        long total = 0;
        for (Tensor p : params) total += p.numel();
        Tensor values = allocatePersistent(DType.F32, Shape.of(total), "trainable parameters");
        Tensor grads = allocatePersistent(DType.F32, Shape.of(total), "parameter gradients");
        List<Tensor> vs = new ArrayList<>(), gs = new ArrayList<>();
        long off = 0;
        for (Tensor p : params) {
            if (p.dtype() != DType.F32) throw new IllegalArgumentException("trainable parameter must be F32, got " + p);
            Tensor v = values.view(off, p.shape()), g = grads.view(off, p.shape());
            copy(p, v);
            mirrors.put(p, v);
            vs.add(v);
            gs.add(g);
            off += p.numel();
        }
        trainables = new Trainables(List.copyOf(params), List.copyOf(vs), List.copyOf(gs), total,
                values.deviceAddress(), grads.deviceAddress());
        return gs;
    }

    /** The registered trainables, or null before {@link #parameterGradients}. */
    public Trainables trainables() {
        return trainables;
    }

    /** Copies the device masters of the trainables into their host tensors (before saving an adapter). */
    public void pullParameters() {
        if (trainables == null) return;
        for (int i = 0; i < trainables.hosts().size(); i++) copy(trainables.values().get(i), trainables.hosts().get(i));
    }

    /** Copies the host tensors of the trainables to their device masters (after loading an adapter). */
    public void pushParameters() {
        if (trainables == null) return;
        for (int i = 0; i < trainables.hosts().size(); i++) copy(trainables.hosts().get(i), trainables.values().get(i));
    }

    /** Bytes jlora's tensors hold on the device now, and the most since {@link #resetPeakMemory()}. */
    public long memoryInUse() {
        return memory.inUse();
    }

    /** The peak of jlora's own allocator plus, with the fused LoRA kernels, the peak of their scratch pool (an upper bound). */
    public long peakMemory() {
        return memory.peak() + (pool == null ? 0 : pool.stats().usedPeak());
    }

    public void resetPeakMemory() {
        memory.resetPeak();
        if (pool != null) pool.resetPeaks();
    }

    /** A linear weight as a GEMM operand; {@code scratch} (0 if none) is released by {@link #done}. */
    private record WeightRef(long address, boolean bf16, long scratch, int out, int in) {
        long rowAddress(long row) {
            return address + row * in * (bf16 ? 2L : 4L);
        }
    }

    private WeightRef weight(LinearWeight w) {
        if (w instanceof DenseWeight dw) {
            Tensor d = param(dw.tensor());
            return new WeightRef(d.deviceAddress(), d.dtype() == DType.BF16, 0, w.outFeatures(), w.inFeatures());
        }
        long bytes = 2L * w.outFeatures() * w.inFeatures();
        if (w instanceof Nf4Weight nw) {
            Nf4DequantKernels.Weight dw = nf4Weights.get(nw);
            if (dw == null) {
                dw = memory.external("NF4 weight [" + w.outFeatures() + ", " + w.inFeatures() + "]", bytes / 4,
                        () -> Nf4DequantKernels.Weight.upload(api, nw.tensor()));
                nf4Weights.put(nw, dw);
                for (DeviceBuffer b : new DeviceBuffer[] {dw.packed(), dw.absmax(), dw.nestedAbsmax(), dw.code()}) {
                    if (b != null) memory.track(b.byteSize());
                }
            }
            long s = scratch(bytes, "NF4 dequant scratch BF16 [" + w.outFeatures() + ", " + w.inFeatures() + "]");
            nf4.dequantizeBf16(dw, buf(s, bytes));
            return new WeightRef(s, true, s, w.outFeatures(), w.inFeatures());
        }
        // Any other storage: widened once on the host through its own rowsToFloat, kept as f32.
        Tensor d = otherWeights.get(w);
        if (d == null) {
            float[] all = new float[Math.multiplyExact(w.outFeatures(), w.inFeatures())];
            w.rowsToFloat(0, w.outFeatures(), all);
            try (Arena a = Arena.ofConfined()) {
                Tensor host = Tensor.of(DType.F32, Shape.of(w.outFeatures(), w.inFeatures()), all, a);
                d = allocatePersistent(DType.F32, host.shape(), "linear weight");
                copy(host, d);
            }
            otherWeights.put(w, d);
        }
        return new WeightRef(d.deviceAddress(), false, 0, w.outFeatures(), w.inFeatures());
    }

    private void done(WeightRef r) {
        if (r.scratch() != 0) memory.release(r.scratch());
    }

    /**
     * C [m, n] (row stride ldc, f32) = alpha · op(A) · op(B) + beta · C on the chosen GEMM. With
     * cuBLASLt, an f32 operand facing a bf16 one is cast to bf16 first (its stored rows × ld span).
     */
    private void matmul(long m, long n, long k, float alpha, SimtGemm.Operand a, SimtGemm.Operand b, float beta, long c,
                        long ldc) {
        if (cublas == null) {
            gemm.run(m, n, k, alpha, a, b, beta, c, ldc);
            return;
        }
        if (m == 0 || n == 0) return;
        String shape = m + "x" + n + "x" + k + " " + a.bf16() + a.transposed() + a.ld() + " " + b.bf16() + b.transposed()
                + b.ld() + " " + ldc;
        if (noCublasPlan.contains(shape)) {
            gemm.run(m, n, k, alpha, a, b, beta, c, ldc);
            return;
        }
        SimtGemm.Operand a0 = a, b0 = b;
        List<Long> blocks = new ArrayList<>();
        try {
            if (a.bf16() != b.bf16()) {
                long[] mk = stored(m, k, a);
                long[] kn = stored(k, n, b);
                if (!a.bf16()) a = castOperand(a, mk, blocks);
                else b = castOperand(b, kn, blocks);
            }
            if (k == 0) {
                if (beta == 0f) api.memset(MemorySegment.ofAddress(c), 0, 4 * ((m - 1) * ldc + n));
                return;
            }
            DeviceMatrix am = matrix(a, stored(m, k, a)), bm = matrix(b, stored(k, n, b));
            DeviceMatrix cm = new DeviceMatrix(buf(c, 4 * ((m - 1) * ldc + n)), 0, DType.F32, Math.toIntExact(m),
                    Math.toIntExact(n), ldc);
            cublas.gemm(stream, am, a.transposed(), bm, b.transposed(), cm, alpha, beta);
        } catch (CudaException e) {
            // cuBLASLt has no algorithm for some odd shapes / strides: that shape runs on the SIMT GEMM from now on.
            if (!e.function().startsWith("cublasLtMatmulAlgoGetHeuristic")) throw e;
            noCublasPlan.add(shape);
            gemm.run(m, n, k, alpha, a0, b0, beta, c, ldc);
        } finally {
            for (long bl : blocks) memory.release(bl);
        }
    }

    /** {rows, cols} of an operand as stored, for op(X) = [r, c]. */
    private static long[] stored(long r, long c, SimtGemm.Operand x) {
        return x.transposed() ? new long[] {c, r} : new long[] {r, c};
    }

    private DeviceMatrix matrix(SimtGemm.Operand x, long[] rc) {
        long span = (rc[0] - 1) * x.ld() + rc[1];
        long bytes = span * (x.bf16() ? 2 : 4);
        return new DeviceMatrix(buf(x.address(), bytes), 0, x.bf16() ? DType.BF16 : DType.F32, Math.toIntExact(rc[0]),
                Math.toIntExact(rc[1]), x.ld());
    }

    private SimtGemm.Operand castOperand(SimtGemm.Operand x, long[] rc, List<Long> blocks) {
        long span = (rc[0] - 1) * x.ld() + rc[1];
        long b = scratch(2 * span, "BF16 GEMM operand [" + rc[0] + ", " + rc[1] + "]");
        blocks.add(b);
        cast.f32ToBf16(buf(x.address(), 4 * span), 0, buf(b, 2 * span), 0, span);
        return new SimtGemm.Operand(b, true, x.transposed(), x.ld());
    }

    private static SimtGemm.Operand f32(long address, boolean transposed, long ld) {
        return new SimtGemm.Operand(address, false, transposed, ld);
    }

    private static int rows(Tensor x, int cols, String name) {
        long n = x.numel();
        if (cols <= 0 || n % cols != 0) throw new IllegalArgumentException(name + " " + x + " is not [T, " + cols + "]");
        return Math.toIntExact(n / cols);
    }

    // ---------------------------------------------------------------- ops

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        if (a.numel() != b.numel() || a.numel() != out.numel()) throw new IllegalArgumentException("add: " + a + " + " + b + " -> " + out);
        ops.add(act(a, "a"), act(b, "b"), a.numel(), act(out, "out"));
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        Tensor t = param(table);
        long v = t.shape().dim(0), d = t.shape().dim(1), n = ids.numel();
        act(ids, "ids");
        act(out, "out");
        if (out.numel() != n * d) throw new IllegalArgumentException("embedding out " + out + " is not [" + n + ", " + d + "]");
        if (t.dtype() == DType.F32) {
            embedding.forward(DType.F32, buf(t), v, d, buf(ids), n, buf(out));
            return;
        }
        long bytes = 2 * n * d;
        long tmp = scratch(bytes, "embedding rows BF16 [" + n + ", " + d + "]");
        try {
            embedding.forward(t.dtype(), buf(t), v, d, buf(ids), n, buf(tmp, bytes));
            cast.bf16ToF32(buf(tmp, bytes), 0, buf(out), 0, n * d);
        } finally {
            memory.release(tmp);
        }
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        long v = dTable.shape().dim(0), d = dTable.shape().dim(1), n = ids.numel();
        act(ids, "ids");
        act(dOut, "dOut");
        act(dTable, "dTable");
        embedding.backward(DType.F32, buf(ids), n, buf(dOut), v, d, buf(dTable));
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        int d = Math.toIntExact(x.shape().dim(-1));
        long rows = rows(x, d, "x");
        act(x, "x");
        act(out, "out");
        act(rstd, "rstd");
        rms.forward(DType.F32, buf(x), buf(paramF32(weight)), eps, rows, d, buf(out), buf(rstd));
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        int d = Math.toIntExact(x.shape().dim(-1));
        long rows = rows(x, d, "x");
        act(dOut, "dOut");
        act(x, "x");
        act(dx, "dx");
        if (dWeight == null) {
            rms.backward(DType.F32, buf(dOut), buf(x), buf(paramF32(weight)), buf(rstd), rows, d, buf(dx), null, null);
            return;
        }
        act(dWeight, "dWeight");
        long bytes = rms.workspaceBytes(rows, d);
        long ws = scratch(bytes, "RMSNorm workspace");
        try {
            rms.backward(DType.F32, buf(dOut), buf(x), buf(paramF32(weight)), buf(rstd), rows, d, buf(dx), buf(dWeight),
                    buf(ws, bytes));
        } finally {
            memory.release(ws);
        }
    }

    /** invFreq on the device, re-uploaded only when the model hands a different array (once per pass). */
    private long invFreq(float[] invFreq) {
        if (invFreq != invFreqKey) {
            if (invFreqBlock != 0) memory.release(invFreqBlock);
            invFreqBlock = 0;
            long bytes = 4L * Math.max(1, invFreq.length);
            long b = memory.allocate(bytes, "RoPE inverse frequencies");
            try (Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(bytes, 16);
                MemorySegment.copy(invFreq, 0, host, ValueLayout.JAVA_FLOAT, 0, invFreq.length);
                api.copyToDevice(MemorySegment.ofAddress(b), host, bytes);
            }
            invFreqBlock = b;
            invFreqKey = invFreq;
        }
        return invFreqBlock;
    }

    @Override
    public void rope(Tensor x, Tensor positions, float[] invFreq, float attentionScaling, Tensor out) {
        applyRope(x, positions, invFreq, attentionScaling, out, true);
    }

    @Override
    public void ropeBackward(Tensor dOut, Tensor positions, float[] invFreq, float attentionScaling, Tensor dx) {
        applyRope(dOut, positions, invFreq, attentionScaling, dx, false);
    }

    private void applyRope(Tensor x, Tensor positions, float[] invFreq, float scaling, Tensor out, boolean forward) {
        if (x.shape().rank() != 3) throw new IllegalArgumentException("rope x must be [T, H, headDim], got " + x);
        long t = x.shape().dim(0);
        int h = Math.toIntExact(x.shape().dim(1)), hd = Math.toIntExact(x.shape().dim(2));
        act(x, "x");
        act(out, "out");
        act(positions, "positions");
        long f = invFreq(invFreq);
        DeviceBuffer fb = buf(f, 4L * Math.max(1, invFreq.length));
        if (forward) rope.forward(DType.F32, buf(x), buf(positions), fb, invFreq.length, t, h, hd, scaling, buf(out));
        else rope.backward(DType.F32, buf(x), buf(positions), fb, invFreq.length, t, h, hd, scaling, buf(out));
    }

    /** The documents of {@code segmentIds}: read back once per packed row (cached by tensor identity). */
    private Packing packing(Tensor segmentIds) {
        if (segmentIds == packingKey) return packing;
        int n = Math.toIntExact(segmentIds.numel());
        int[] seg;
        try (Arena a = Arena.ofConfined()) {
            Tensor host = Tensor.allocate(DType.I32, Shape.of(n), a);
            copy(segmentIds, host);
            seg = host.data().toArray(ValueLayout.JAVA_INT);
        }
        SequencePacking p = SequencePacking.of(seg);
        int[] cu = p.cuSeqlens();
        int[] start = new int[n], end = new int[n];
        for (int b = 0; b + 1 < cu.length; b++) {
            for (int i = cu[b]; i < cu[b + 1]; i++) {
                start[i] = cu[b];
                end[i] = cu[b + 1];
            }
        }
        if (packing != null) {
            memory.release(packing.cuSeqlens());
            memory.release(packing.docStart());
            memory.release(packing.docEnd());
        }
        packing = new Packing(p, uploadInts(cu), uploadInts(start), uploadInts(end));
        packingKey = segmentIds;
        return packing;
    }

    private long uploadInts(int[] v) {
        long bytes = 4L * Math.max(1, v.length);
        long b = memory.allocate(bytes, "document boundaries");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(bytes, 16);
            MemorySegment.copy(v, 0, host, ValueLayout.JAVA_INT, 0, v.length);
            api.copyToDevice(MemorySegment.ofAddress(b), host, bytes);
        }
        return b;
    }

    private boolean flash(int headDim) {
        return flashAllowed && (headDim == 64 || headDim == 128);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse) {
        long t = q.shape().dim(0);
        int hq = Math.toIntExact(q.shape().dim(1)), hkv = Math.toIntExact(k.shape().dim(1));
        int d = Math.toIntExact(q.shape().dim(2));
        long qa = act(q, "q"), ka = act(k, "k"), va = act(v, "v"), oa = act(out, "out"), la = act(lse, "lse");
        if (d > PlainAttentionKernels.MAX_HEAD_DIM) throw new IllegalArgumentException("head dim " + d + " > 256");
        Packing p = packing(segmentIds);
        if (!flash(d)) {
            plain.forward(qa, ka, va, p.docStart(), t, hq, hkv, d, oa, la);
            return;
        }
        long nq = t * hq * d, nk = t * hkv * d;
        long q16 = toBf16(q, nq), k16 = toBf16(k, nk), v16 = toBf16(v, nk), o16 = scratch(2 * nq, "attention out BF16");
        try {
            flash.forward(buf(q16, 2 * nq), buf(k16, 2 * nk), buf(v16, 2 * nk), p.host(), buf(p.cuSeqlens(), 4L * (p.host().batch() + 1)),
                    hq, hkv, d, buf(o16, 2 * nq), buf(lse));
            cast.bf16ToF32(buf(o16, 2 * nq), 0, buf(out), 0, nq);
        } finally {
            for (long b : new long[] {q16, k16, v16, o16}) memory.release(b);
        }
    }

    private long toBf16(Tensor x, long n) {
        long b = scratch(2 * n, "BF16 copy of " + x);
        cast.f32ToBf16(buf(x), 0, buf(b, 2 * n), 0, n);
        return b;
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse,
                                  Tensor dq, Tensor dk, Tensor dv) {
        long t = q.shape().dim(0);
        int hq = Math.toIntExact(q.shape().dim(1)), hkv = Math.toIntExact(k.shape().dim(1));
        int d = Math.toIntExact(q.shape().dim(2));
        long ga = act(dOut, "dOut"), qa = act(q, "q"), ka = act(k, "k"), va = act(v, "v"), oa = act(out, "out");
        long la = act(lse, "lse"), dqa = act(dq, "dq"), dka = act(dk, "dk"), dva = act(dv, "dv");
        Packing p = packing(segmentIds);
        if (!flash(d)) {
            plain.backward(ga, qa, ka, va, oa, la, p.docStart(), p.docEnd(), t, hq, hkv, d, dqa, dka, dva);
            return;
        }
        long nq = t * hq * d, nk = t * hkv * d;
        List<Long> blocks = new ArrayList<>();
        try {
            long g16 = toBf16(dOut, nq), q16 = toBf16(q, nq), k16 = toBf16(k, nk), v16 = toBf16(v, nk), o16 = toBf16(out, nq);
            blocks.addAll(List.of(g16, q16, k16, v16, o16));
            long dq16 = scratch(2 * nq, "dq BF16"), dk16 = scratch(2 * nk, "dk BF16"), dv16 = scratch(2 * nk, "dv BF16");
            blocks.addAll(List.of(dq16, dk16, dv16));
            long wsBytes = flash.backwardWorkspaceBytes(t, hq);
            long ws = scratch(Math.max(1, wsBytes), "flash attention backward workspace");
            blocks.add(ws);
            flash.backward(buf(g16, 2 * nq), buf(q16, 2 * nq), buf(k16, 2 * nk), buf(v16, 2 * nk), buf(o16, 2 * nq), buf(lse),
                    p.host(), buf(p.cuSeqlens(), 4L * (p.host().batch() + 1)), hq, hkv, d, buf(dq16, 2 * nq),
                    buf(dk16, 2 * nk), buf(dv16, 2 * nk), buf(ws, wsBytes));
            cast.bf16ToF32(buf(dq16, 2 * nq), 0, buf(dq), 0, nq);
            cast.bf16ToF32(buf(dk16, 2 * nk), 0, buf(dk), 0, nk);
            cast.bf16ToF32(buf(dv16, 2 * nk), 0, buf(dv), 0, nk);
        } finally {
            for (long b : blocks) memory.release(b);
        }
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor out) {
        act(gate, "gate");
        act(up, "up");
        act(out, "out");
        swiglu.forward(DType.F32, buf(gate), buf(up), gate.numel(), buf(out));
    }

    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        act(dOut, "dOut");
        act(gate, "gate");
        act(up, "up");
        act(dGate, "dGate");
        act(dUp, "dUp");
        swiglu.backward(DType.F32, buf(dOut), buf(gate), buf(up), gate.numel(), buf(dGate), buf(dUp));
    }

    @Override
    public void linear(Tensor x, LinearWeight w, Tensor bias, Tensor out) {
        int in = w.inFeatures(), n = w.outFeatures();
        int t = rows(x, in, "x");
        if (out.numel() != (long) t * n) throw new IllegalArgumentException("linear out " + out + " is not [" + t + ", " + n + "]");
        long xa = act(x, "x"), oa = act(out, "out");
        WeightRef r = weight(w);
        try {
            matmul(t, n, in, 1f, f32(xa, false, in), new SimtGemm.Operand(r.address(), r.bf16(), true, in), 0f, oa, n);
        } finally {
            done(r);
        }
        if (bias != null) ops.addBiasRows(oa, paramF32(bias).deviceAddress(), t, n);
    }

    @Override
    public void linearBackward(Tensor dOut, LinearWeight w, Tensor dx, Tensor dBias) {
        int in = w.inFeatures(), n = w.outFeatures();
        int t = rows(dOut, n, "dOut");
        long ga = act(dOut, "dOut"), dxa = act(dx, "dx");
        WeightRef r = weight(w);
        try {
            matmul(t, in, n, 1f, f32(ga, false, n), new SimtGemm.Operand(r.address(), r.bf16(), false, in), 0f, dxa, in);
        } finally {
            done(r);
        }
        if (dBias != null) ops.columnSumsAdd(ga, t, n, act(dBias, "dBias"));
    }

    /** dropout(x) in a scratch block, or x itself (0 returned as the block) without dropout. */
    private long[] dropped(long x, long n, Dropout dropout) {
        if (!dropout.active()) return new long[] {x, 0};
        long b = scratch(4 * n, "LoRA dropout F32 [" + n + "]");
        ops.dropoutApply(x, n, dropout.p(), dropout.seed(), b);
        return new long[] {b, b};
    }

    /** The fused kernel's folded weight for a bf16 or NF4 base (NF4 dequantized into it now), or null for other bases. */
    private LoraLinearKernels.FoldedWeight foldedFor(LinearWeight w, int r) {
        if (fused == null) return null;
        int out = w.outFeatures(), in = w.inFeatures();
        if (w instanceof DenseWeight dw && dw.tensor().dtype() == DType.BF16) {
            LoraLinearKernels.FoldedWeight f = folded.get(dw.tensor());
            if (f == null) {
                long fb = 2L * (out + r) * (in + r);
                f = memory.external("folded LoRA weight BF16 [" + (out + r) + ", " + (in + r) + "]", fb,
                        () -> LoraLinearKernels.FoldedWeight.allocate(api, out, in, r));
                memory.track(fb);
                long bytes = 2L * out * in;
                long tmp = scratch(bytes, "base weight upload BF16 [" + out + ", " + in + "]");
                try {
                    api.copyToDevice(MemorySegment.ofAddress(tmp), dw.tensor().data(), bytes);
                    fused.loadBase(stream, DeviceMatrix.of(buf(tmp, bytes), DType.BF16, out, in), f);
                } finally {
                    memory.release(tmp);
                }
                folded.put(dw.tensor(), f);
            }
            return f;
        }
        // The fused NF4 → folded-rows dequant writes 8 elements at a time: rows of in and strides of
        // in + r must be multiples of 8 (every real model's are; a tiny test model's may not be).
        if (w instanceof Nf4Weight nw && in % 8 == 0 && (in + r) % 8 == 0) {
            LoraLinearKernels.FoldedWeight f = nf4Folded.get(List.of(out, in, r));
            if (f == null) {
                long fb = 2L * (out + r) * (in + r);
                f = memory.external("folded LoRA weight BF16 [" + (out + r) + ", " + (in + r) + "]", fb,
                        () -> LoraLinearKernels.FoldedWeight.allocate(api, out, in, r));
                memory.track(fb);
                nf4Folded.put(List.of(out, in, r), f);
            }
            Nf4DequantKernels.Weight dw = nf4Weights.get(nw);
            if (dw == null) {
                dw = memory.external("NF4 weight [" + out + ", " + in + "]", (long) out * in / 2,
                        () -> Nf4DequantKernels.Weight.upload(api, nw.tensor()));
                nf4Weights.put(nw, dw);
                for (DeviceBuffer b : new DeviceBuffer[] {dw.packed(), dw.absmax(), dw.nestedAbsmax(), dw.code()}) {
                    if (b != null) memory.track(b.byteSize());
                }
            }
            fused.dequantizeBase(stream, dw, f);
            return f;
        }
        return null;
    }

    private LoraLinearKernels.Adapter adapter(Tensor a, Tensor b, int r, float scale) {
        Tensor ad = param(a), bd = param(b);
        return new LoraLinearKernels.Adapter(buf(ad), buf(bd), r, scale);
    }

    @Override
    public void loraLinear(Tensor x, LinearWeight w, Tensor bias, Tensor a, Tensor b, float scale, Dropout dropout,
                           Tensor out, Tensor xa) {
        int in = w.inFeatures(), n = w.outFeatures(), r = Math.toIntExact(a.shape().dim(0));
        LoraLinearKernels.FoldedWeight f = foldedFor(w, r);
        if (f != null) {
            int t = rows(x, in, "x");
            act(out, "out");
            act(xa, "xa");
            fused.forward(stream, f, adapter(a, b, r, scale), bias == null ? null : buf(paramF32(bias)), dropout,
                    DeviceMatrix.of(buf(x), DType.F32, t, in), DeviceMatrix.of(buf(out), DType.F32, t, n), buf(xa));
            return;
        }
        int t = rows(x, in, "x");
        long xs = act(x, "x"), xas = act(xa, "xa");
        long aa = param(a).deviceAddress(), ba = param(b).deviceAddress();
        long[] xd = dropped(xs, (long) t * in, dropout);
        try {
            matmul(t, r, in, 1f, f32(xd[0], false, in), f32(aa, true, in), 0f, xas, r);
        } finally {
            if (xd[1] != 0) memory.release(xd[1]);
        }
        linear(x, w, bias, out);
        matmul(t, n, r, scale, f32(xas, false, r), f32(ba, true, r), 1f, act(out, "out"), n);
    }

    @Override
    public void loraLinearBackward(Tensor dOut, Tensor x, LinearWeight w, Tensor a, Tensor b, float scale,
                                   Dropout dropout, Tensor xa, Tensor dx, Tensor dA, Tensor dB, Tensor dBias) {
        int in = w.inFeatures(), n = w.outFeatures(), r = Math.toIntExact(a.shape().dim(0));
        LoraLinearKernels.FoldedWeight f = foldedFor(w, r);
        if (f != null) {
            int t = rows(dOut, n, "dOut");
            for (Tensor g : new Tensor[] {x, xa, dx, dA, dB}) act(g, "lora backward operand");
            fused.backward(stream, f, adapter(a, b, r, scale), dropout, DeviceMatrix.of(buf(dOut), DType.F32, t, n),
                    DeviceMatrix.of(buf(x), DType.F32, t, in), buf(xa), DeviceMatrix.of(buf(dx), DType.F32, t, in), buf(dA),
                    buf(dB), dBias == null ? null : buf(dBias));
            return;
        }
        int t = rows(dOut, n, "dOut");
        long ga = act(dOut, "dOut"), xs = act(x, "x"), xas = act(xa, "xa"), dxa = act(dx, "dx");
        long dAa = act(dA, "dA"), dBa = act(dB, "dB");
        long aa = param(a).deviceAddress(), ba = param(b).deviceAddress();
        // dB += s · dOutᵀ · xa;  gu = s · dOut · B;  dA += guᵀ · dropout(x);  dx = dOut · W + mask ∘ (gu · A)
        matmul(n, r, t, scale, f32(ga, true, n), f32(xas, false, r), 1f, dBa, r);
        long gu = scratch(4L * t * r, "LoRA gu F32 [" + t + ", " + r + "]");
        List<Long> blocks = new ArrayList<>(List.of(gu));
        try {
            matmul(t, r, n, scale, f32(ga, false, n), f32(ba, false, r), 0f, gu, r);
            long[] xd = dropped(xs, (long) t * in, dropout);
            if (xd[1] != 0) blocks.add(xd[1]);
            matmul(r, in, t, 1f, f32(gu, true, r), f32(xd[0], false, in), 1f, dAa, in);
            WeightRef wr = weight(w);
            try {
                matmul(t, in, n, 1f, f32(ga, false, n), new SimtGemm.Operand(wr.address(), wr.bf16(), false, in), 0f, dxa, in);
            } finally {
                done(wr);
            }
            if (!dropout.active()) {
                matmul(t, in, r, 1f, f32(gu, false, r), f32(aa, false, in), 1f, dxa, in);
            } else {
                long tmp = scratch(4L * t * in, "LoRA dx branch F32");
                blocks.add(tmp);
                matmul(t, in, r, 1f, f32(gu, false, r), f32(aa, false, in), 0f, tmp, in);
                ops.dropoutAdd(tmp, (long) t * in, dropout.p(), dropout.seed(), dxa);
            }
        } finally {
            for (long bl : blocks) memory.release(bl);
        }
        if (dBias != null) ops.columnSumsAdd(ga, t, n, act(dBias, "dBias"));
    }

    /** The targets on the host (the fused LM-head kernel selects counted rows there); read back once per tensor. */
    private int[] hostTargets(Tensor targets) {
        if (targets != targetsKey) {
            try (Arena a = Arena.ofConfined()) {
                Tensor host = Tensor.allocate(DType.I32, targets.shape(), a);
                copy(targets, host);
                targetsHost = host.data().toArray(ValueLayout.JAVA_INT);
            }
            targetsKey = targets;
        }
        return targetsHost;
    }

    /** The fused LM-head cross-entropy takes a dense bf16 head; null otherwise. */
    private DeviceMatrix fusedHead(LinearWeight lmHead) {
        if (fusedCe == null || !(lmHead instanceof DenseWeight dw) || dw.tensor().dtype() != DType.BF16) return null;
        Tensor d = param(dw.tensor());
        return DeviceMatrix.of(buf(d), DType.BF16, lmHead.outFeatures(), lmHead.inFeatures());
    }

    @Override
    public LossSum crossEntropy(Tensor hidden, LinearWeight lmHead, Tensor targets, int vocabChunk, Tensor lse) {
        if (vocabChunk <= 0) throw new IllegalArgumentException("vocabChunk must be positive, got " + vocabChunk);
        DeviceMatrix head = fusedHead(lmHead);
        if (head != null) {
            int t = rows(hidden, lmHead.inFeatures(), "hidden");
            for (Tensor x : new Tensor[] {hidden, lse, targets}) act(x, "cross-entropy operand");
            return fusedCe.forward(stream, DeviceMatrix.of(buf(hidden), DType.F32, t, lmHead.inFeatures()), head,
                    hostTargets(targets), Math.min(vocabChunk, lmHead.outFeatures()), buf(lse));
        }
        int dim = lmHead.inFeatures(), vocab = lmHead.outFeatures(), chunk = Math.min(vocabChunk, vocab);
        int t = rows(hidden, dim, "hidden");
        long ha = act(hidden, "hidden"), ta = act(targets, "targets"), la = act(lse, "lse");
        List<Long> blocks = new ArrayList<>();
        WeightRef w = weight(lmHead);
        try {
            long m = scratch(4L * t, "CE max"), s = scratch(4L * t, "CE sum"), tgt = scratch(4L * t, "CE target logit");
            long logits = scratch(4L * t * chunk, "CE logits chunk F32 [" + t + ", " + chunk + "]");
            long sumCount = scratch(16, "CE loss sum");
            blocks.addAll(List.of(m, s, tgt, logits, sumCount));
            ce.init(t, m, s, tgt);
            SimtGemm.Operand h = hiddenOperand(ha, (long) t * dim, dim, w, blocks);
            for (int v0 = 0; v0 < vocab; v0 += chunk) {
                int cols = Math.min(chunk, vocab - v0);
                matmul(t, cols, dim, 1f, h, new SimtGemm.Operand(w.rowAddress(v0), w.bf16(), true, dim),
                        0f, logits, chunk);
                ce.update(logits, t, cols, chunk, v0, ta, m, s, tgt);
            }
            ce.finish(m, s, tgt, ta, t, la, sumCount);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(16, 16);
                api.copyToHost(host, MemorySegment.ofAddress(sumCount), 16);
                return new LossSum(host.get(ValueLayout.JAVA_DOUBLE, 0), (long) host.get(ValueLayout.JAVA_DOUBLE, 8));
            }
        } finally {
            done(w);
            for (long b : blocks) memory.release(b);
        }
    }

    @Override
    public void crossEntropyBackward(Tensor hidden, LinearWeight lmHead, Tensor targets, Tensor lse, float lossScale,
                                     int vocabChunk, Tensor dHidden, Tensor dLmHead) {
        if (vocabChunk <= 0) throw new IllegalArgumentException("vocabChunk must be positive, got " + vocabChunk);
        DeviceMatrix head = fusedHead(lmHead);
        if (head != null) {
            int t = rows(hidden, lmHead.inFeatures(), "hidden"), d = lmHead.inFeatures();
            for (Tensor x : new Tensor[] {hidden, lse, dHidden, targets}) act(x, "cross-entropy operand");
            fusedCe.backward(stream, DeviceMatrix.of(buf(hidden), DType.F32, t, d), head, hostTargets(targets), buf(lse),
                    lossScale, Math.min(vocabChunk, lmHead.outFeatures()), DeviceMatrix.of(buf(dHidden), DType.F32, t, d),
                    false, dLmHead == null ? null : buf(dLmHead));
            return;
        }
        int dim = lmHead.inFeatures(), vocab = lmHead.outFeatures(), chunk = Math.min(vocabChunk, vocab);
        int t = rows(hidden, dim, "hidden");
        long ha = act(hidden, "hidden"), ta = act(targets, "targets"), la = act(lse, "lse"), dha = act(dHidden, "dHidden");
        long dWa = dLmHead == null ? 0 : act(dLmHead, "dLmHead");
        WeightRef w = weight(lmHead);
        List<Long> blocks = new ArrayList<>();
        try {
            long logits = scratch(4L * t * chunk, "CE logits chunk F32 [" + t + ", " + chunk + "]");
            blocks.add(logits);
            SimtGemm.Operand h = hiddenOperand(ha, (long) t * dim, dim, w, blocks);
            for (int v0 = 0; v0 < vocab; v0 += chunk) {
                int cols = Math.min(chunk, vocab - v0);
                matmul(t, cols, dim, 1f, h, new SimtGemm.Operand(w.rowAddress(v0), w.bf16(), true, dim),
                        0f, logits, chunk);
                ce.grad(logits, t, cols, chunk, v0, ta, la, lossScale);
                matmul(t, dim, cols, 1f, f32(logits, false, chunk), new SimtGemm.Operand(w.rowAddress(v0), w.bf16(), false, dim),
                        v0 > 0 ? 1f : 0f, dha, dim);
                if (dLmHead != null) {
                    matmul(cols, dim, t, 1f, f32(logits, true, chunk), f32(ha, false, dim), 1f, dWa + 4L * v0 * dim, dim);
                }
            }
        } finally {
            done(w);
            for (long b : blocks) memory.release(b);
        }
    }

    /** The hidden states as the LM-head GEMM's left operand: cast to bf16 once per call when cuBLASLt meets a bf16 head. */
    private SimtGemm.Operand hiddenOperand(long hidden, long n, int dim, WeightRef w, List<Long> blocks) {
        if (cublas == null || !w.bf16()) return f32(hidden, false, dim);
        long b = scratch(2 * n, "hidden BF16 for the LM head");
        blocks.add(b);
        cast.f32ToBf16(buf(hidden, 4 * n), 0, buf(b, 2 * n), 0, n);
        return new SimtGemm.Operand(b, true, false, dim);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Nf4DequantKernels.Weight w : nf4Weights.values()) w.close();
        nf4Weights.clear();
        embedding.close();
        for (LoraLinearKernels.FoldedWeight f : folded.values()) f.close();
        for (LoraLinearKernels.FoldedWeight f : nf4Folded.values()) f.close();
        if (fused != null) fused.close();
        if (cublas != null) cublas.close();
        memory.close();
    }
}
