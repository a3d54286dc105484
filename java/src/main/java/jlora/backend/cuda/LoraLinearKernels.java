package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import jlora.backend.Dropout;
import jlora.tensor.DType;

/**
 * The fused LoRA linear on the GPU, matching {@code CpuBackend#loraLinear} /
 * {@code #loraLinearBackward} (jlora.backend.cpu.CpuLinear) within bf16 bounds:
 * y = x·Wᵀ + b + s·(dropout(x)·Aᵀ)·Bᵀ with W frozen (bf16, or NF4 dequantized per call), A / B
 * fp32 masters cast to bf16 for the GEMMs, fp32 accumulation everywhere, dA / dB / dBias
 * accumulated in fp32.
 *
 * <p>The LoRA product rides inside the base GEMM (issue 7 item 2): with the folded weight
 * {@code F [out + r, in + r]} (bf16) = {@code [[W, s·B], [A, ·]]},
 * <ul>
 *   <li>forward: {@code y = [x | xa] · [W | s·B]ᵀ}, one GEMM with K = in + r, where
 *       {@code xa = dropout(x)·Aᵀ} is a skinny GEMM (N = r) saved for the backward;</li>
 *   <li>backward: {@code gu = g·(s·B)}, then {@code dx = [g | gu] · [W ; A]}, one GEMM with
 *       K = out + r (without dropout; with dropout the mask falls on the LoRA term only, so
 *       dx = g·W + mask ∘ (gu·A) takes two GEMMs and a masked add), {@code dB += s·gᵀ·xa},
 *       {@code dA += guᵀ·dropout(x)}, {@code dBias += 1ᵀ·g}.</li>
 * </ul>
 * Both views of F use its row stride in + r: rows [0, out) × columns [0, in + r) for the forward,
 * rows [0, out + r) × columns [0, in) for dx. A bf16 base is copied into F once
 * ({@link #loadBase}); an NF4 base is dequantized into F (a scratch shared by layers of one
 * shape) at every call, and A, s·B are re-cast at every call (r·(in + out) elements).
 *
 * <p>Groups: modules that read the same x (q/k/v, gate/up) run as one op over a {@link Part}
 * list: F = [[W_1, s_1·B_1, 0], [W_2, 0, s_2·B_2], [A_1 ; A_2, ·]] (W stacked by rows, s·B
 * block-diagonal, A stacked), so the whole group is one base GEMM, one xa GEMM and one dx GEMM.
 *
 * <p>Zero-copy inputs: when x is BF16 with ld = in + r, the r columns after it in each row belong
 * to this op and hold xa in bf16, so [x | xa] is x's own buffer; likewise dOut BF16 with ld =
 * out + r for [g | gu]. Otherwise x / dOut are cast into a pooled scratch. Scratch comes from
 * the {@link DevicePool} on the call's stream and is returned at the end of the call.
 */
public final class LoraLinearKernels implements AutoCloseable {
    private final CudaApi api;
    private final Gemm gemm;
    private final DevicePool pool;
    private final MethodHandle castRows, dropoutAdd, biasAdd, nf4Rows;
    private DeviceBuffer ones; // bf16 1.0 [capacity], the left operand of dBias = 1ᵀ·g
    private boolean epilogueBias = true;
    private int onesCapacity;

    public LoraLinearKernels(CudaApi api, Gemm gemm, DevicePool pool) {
        this.api = api;
        this.gemm = gemm;
        this.pool = pool;
        castRows = api.bindStatus("jl_lora_cast_rows", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_FLOAT, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, ADDRESS);
        dropoutAdd = api.bindStatus("jl_lora_dropout_add", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_LONG, JAVA_FLOAT, ADDRESS);
        biasAdd = api.bindStatus("jl_bias_add", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        nf4Rows = api.bindStatus("jl_lora_nf4_dequant_rows", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT, JAVA_INT, JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
    }

    /** The trainable adapter: fp32 masters A {@code [r, in]}, B {@code [out, r]}, dense, and the scale s. */
    public record Adapter(DeviceBuffer a, DeviceBuffer b, int rank, float scale) {}

    /**
     * The folded weight {@code F [out + r, in + r]} bf16 (see the class comment). For a bf16 base
     * it is the layer's own weight storage; for NF4 a scratch that layers of one shape share.
     */
    public static final class FoldedWeight implements AutoCloseable {
        final DeviceBuffer buffer;
        final int out, in, r;

        private FoldedWeight(DeviceBuffer buffer, int out, int in, int r) {
            this.buffer = buffer;
            this.out = out;
            this.in = in;
            this.r = r;
        }

        public static FoldedWeight allocate(CudaApi api, int out, int in, int r) {
            if (out <= 0 || in <= 0 || r <= 0) throw new IllegalArgumentException("folded weight " + out + "×" + in + " r " + r);
            return new FoldedWeight(new DeviceBuffer(api, 2L * (out + r) * (in + r)), out, in, r);
        }

        long ld() {
            return in + r;
        }

        /** [W | s·B]: rows [0, out), columns [0, in + r). */
        DeviceMatrix forwardView() {
            return new DeviceMatrix(buffer, 0, DType.BF16, out, in + r, ld());
        }

        /** [W ; A]: rows [0, out + r), columns [0, in). */
        DeviceMatrix baseAndA() {
            return new DeviceMatrix(buffer, 0, DType.BF16, out + r, in, ld());
        }

        DeviceMatrix w() {
            return new DeviceMatrix(buffer, 0, DType.BF16, out, in, ld());
        }

        DeviceMatrix scaledB() {
            return new DeviceMatrix(buffer, in, DType.BF16, out, r, ld());
        }

        DeviceMatrix a() {
            return new DeviceMatrix(buffer, (long) out * ld(), DType.BF16, r, in, ld());
        }

        @Override
        public void close() {
            buffer.close();
        }
    }

    /** Copies a bf16 base weight {@code [out, in]} into F's W block (once per layer). */
    public void loadBase(CudaStream stream, DeviceMatrix w, FoldedWeight f) {
        requireShape("base weight", w, f.out, f.in);
        if (w.type() != DType.BF16) throw new IllegalArgumentException("the base weight must be BF16 (or NF4), got " + w.type());
        castRows(stream, w, f.w(), 1f, Dropout.NONE);
    }

    /**
     * Dequantizes an NF4 base weight {@code [out, in]} into F's W block (every call for QLoRA),
     * bit-exact with {@code Nf4Tensor#dequantize(BF16)}: cuda/lora_linear.cu writes the rows
     * straight into F's row stride (8 elements per thread when in and in + r are multiples of 8,
     * one otherwise), so no contiguous copy of W exists and no second pass moves it.
     */
    public void dequantizeBase(CudaStream stream, Nf4DequantKernels.Weight w, FoldedWeight f) {
        dequantizeRows(stream, w, f.buffer, 0, f.out, f.in, f.ld());
    }

    /** A group's module: its NF4 weight {@code [rows, in]} into F's W rows from {@code rowOffset} (see {@link Part}). */
    public void dequantizeBase(CudaStream stream, Nf4DequantKernels.Weight w, FoldedWeight f, int rowOffset, int rows) {
        if (rowOffset < 0 || rows < 0 || rowOffset + rows > f.out) throw new IndexOutOfBoundsException("rows [" + rowOffset + ", +" + rows + ") of " + f.out);
        dequantizeRows(stream, w, f.buffer, 2L * rowOffset * f.ld(), rows, f.in, f.ld());
    }

    /** NF4 {@code [rows, rowLen]} → bf16 rows {@code rowStride} elements apart from byte {@code byteOffset} of {@code out}. */
    public void dequantizeRows(CudaStream stream, Nf4DequantKernels.Weight w, DeviceBuffer out, long byteOffset, int rows, int rowLen,
            long rowStride) {
        long n = (long) rows * rowLen;
        if (w.numel() != n) throw new IllegalArgumentException("NF4 weight has " + w.numel() + " elements, not " + rows + "×" + rowLen);
        long blocks = Math.ceilDiv(n, (long) w.blocksize());
        MemorySegment packed = w.packed().at(0, Math.ceilDiv(n, 2L));
        MemorySegment dst = out.at(byteOffset, rows == 0 ? 0 : Math.multiplyExact((rows - 1) * rowStride + rowLen, 2L));
        boolean dq = w.doubleQuant();
        MemorySegment absmax = dq ? MemorySegment.NULL : w.absmax().at(0, 4 * blocks);
        MemorySegment codes = dq ? w.absmax().at(0, blocks) : MemorySegment.NULL;
        MemorySegment nested = dq ? w.nestedAbsmax().at(0, 4 * Math.ceilDiv(blocks, (long) w.nestedBlocksize())) : MemorySegment.NULL;
        MemorySegment code = dq ? w.code().at(0, 4 * 256) : MemorySegment.NULL;
        float offset = w.offset();
        int nbs = w.nestedBlocksize(), bs = w.blocksize();
        long rowsL = rows, len = rowLen;
        MemorySegment st = stream.handle();
        api.run("jl_lora_nf4_dequant_rows", () -> (int) nf4Rows.invokeExact(packed, absmax, codes, nested, code, offset, nbs, bs, rowsL,
                len, rowStride, dst, st));
    }

    /**
     * One module of a group that shares its input x (q/k/v; gate/up): {@code out} rows of the
     * concatenated output, its adapter and its own dropout (PEFT gives every module its own mask:
     * pass distinct seeds). A group's F is allocated with out = Σ out and r = Σ rank; the modules'
     * rows and ranks stack in list order, so s·B sits block-diagonally in F and one GEMM serves all.
     */
    public record Part(int out, Adapter adapter, Dropout dropout) {}

    /** Casts every part's A and s·B (fp32 masters) into F, zeros off the diagonal of the s·B block. */
    void foldAdapter(CudaStream stream, List<Part> parts, FoldedWeight f) {
        int outSum = 0, rankSum = 0;
        for (Part p : parts) {
            outSum += p.out;
            rankSum += p.adapter.rank();
        }
        if (outSum != f.out || rankSum != f.r) {
            throw new IllegalArgumentException("parts cover " + outSum + " rows and rank " + rankSum + ", F is " + f.out + " rows, rank " + f.r);
        }
        if (parts.size() > 1) {
            DeviceMatrix sb = f.scaledB();
            api.streamCalls().memset2dAsync(sb.pointer(), 2 * f.ld(), 0, 2L * f.r, f.out, stream.handle());
        }
        int o = 0, q = 0;
        for (Part p : parts) {
            int r = p.adapter.rank();
            castRows(stream, DeviceMatrix.of(p.adapter.a(), DType.F32, r, f.in), f.a().rows(q, r), 1f, Dropout.NONE);
            castRows(stream, DeviceMatrix.of(p.adapter.b(), DType.F32, p.out, r), f.scaledB().rows(o, p.out).columns(q, r),
                    p.adapter.scale(), Dropout.NONE);
            o += p.out;
            q += r;
        }
    }

    /**
     * y = x·Wᵀ + b + s·dropout(x)·Aᵀ·Bᵀ. x {@code [T, in]} F32 or BF16 (zero-copy when BF16 with
     * ld = in + r), out {@code [T, out]} F32 or BF16, bias F32 {@code [out]} or null, xa F32
     * {@code [T, r]} dense (saved for the backward). F holds the base already (loadBase /
     * dequantizeBase); the adapter is folded here.
     */
    public void forward(CudaStream s, FoldedWeight f, Adapter ad, DeviceBuffer bias, Dropout dropout, DeviceMatrix x,
            DeviceMatrix out, DeviceBuffer xa) {
        forward(s, f, List.of(new Part(f.out, ad, dropout)), bias, x, out, xa);
    }

    /**
     * The modules of {@code parts} at once over their shared x: out {@code [T, Σ out]} (module i's
     * columns in list order), bias {@code [Σ out]} or null, xa {@code [T, Σ rank]}. Each module's
     * output is what {@link #forward(CudaStream, FoldedWeight, Adapter, DeviceBuffer, Dropout,
     * DeviceMatrix, DeviceMatrix, DeviceBuffer)} gives for it alone.
     */
    public void forward(CudaStream s, FoldedWeight f, List<Part> parts, DeviceBuffer bias, DeviceMatrix x, DeviceMatrix out,
            DeviceBuffer xa) {
        int T = x.rows();
        requireShape("x", x, T, f.in);
        requireShape("out", out, T, f.out);
        foldAdapter(s, parts, f);
        DeviceMatrix xaM = DeviceMatrix.of(xa, DType.F32, T, f.r);
        try (Scratch xcat = concat(s, x, f.in, f.r, Dropout.NONE)) {
            DeviceMatrix left = xcat.matrix();
            if (!anyDropout(parts)) {
                gemm.gemm(s, left.columns(0, f.in), false, f.a(), true, xaM, 1f, 0f);
            } else {
                int q = 0;
                for (Part p : parts) {
                    int r = p.adapter.rank();
                    if (!p.dropout.active()) {
                        gemm.gemm(s, left.columns(0, f.in), false, f.a().rows(q, r), true, xaM.columns(q, r), 1f, 0f);
                    } else {
                        try (Scratch xd = concatDropped(s, x, f.in, p.dropout)) {
                            gemm.gemm(s, xd.matrix(), false, f.a().rows(q, r), true, xaM.columns(q, r), 1f, 0f);
                        }
                    }
                    q += r;
                }
            }
            castRows(s, xaM, left.columns(f.in, f.r), 1f, Dropout.NONE);
            if (bias == null) {
                gemm.gemm(s, left, false, f.forwardView(), true, out, 1f, 0f);
            } else {
                biasedGemm(s, left, f, bias, out);
            }
        }
    }

    private static boolean anyDropout(List<Part> parts) {
        for (Part p : parts) {
            if (p.dropout.active()) return true;
        }
        return false;
    }

    /**
     * y = left · F_fwdᵀ + bias: the bias in cuBLASLt's epilogue (bias in y's type: a BF16 y takes
     * a bf16 copy of the fp32 bias, one rounding), or, should cuBLASLt offer no algorithm with
     * that epilogue, the GEMM then jl_bias_add (one more pass over y).
     */
    private void biasedGemm(CudaStream s, DeviceMatrix left, FoldedWeight f, DeviceBuffer bias, DeviceMatrix out) {
        DeviceMatrix b32 = DeviceMatrix.of(bias, DType.F32, 1, f.out);
        if (epilogueBias) {
            try (DeviceBuffer bf = out.type() == DType.BF16 ? pool.allocate(2L * f.out, s) : null) {
                DeviceMatrix b = b32;
                if (bf != null) {
                    b = DeviceMatrix.of(bf, DType.BF16, 1, f.out);
                    castRows(s, b32, b, 1f, Dropout.NONE);
                }
                gemm.gemm(s, left, false, f.forwardView(), true, out, 1f, 0f, b);
                return;
            } catch (CudaException e) {
                if (!e.function().equals("cublasLtMatmulAlgoGetHeuristic")) throw e;
                epilogueBias = false; // this cuBLASLt has no bias epilogue for these types: add it ourselves
            }
        }
        gemm.gemm(s, left, false, f.forwardView(), true, out, 1f, 0f);
        MemorySegment y = out.pointer(), bp = bias.at(0, 4L * f.out), st = s.handle();
        int dt = ActivationType.code(out.type());
        long ld = out.ld(), n = f.out, rows = out.rows();
        api.run("jl_bias_add", () -> (int) biasAdd.invokeExact(y, dt, ld, bp, rows, n, st));
    }

    /**
     * dx = dOut·W + mask ∘ (s·dOut·B·A) (overwritten, F32 or BF16 {@code [T, in]}); dA {@code [r, in]},
     * dB {@code [out, r]} and dBias {@code [out]} (F32, nullable = frozen) accumulated. x and xa as
     * the forward had them; F must hold the base (an NF4 scratch is dequantized again by the caller).
     */
    public void backward(CudaStream s, FoldedWeight f, Adapter ad, Dropout dropout, DeviceMatrix dOut, DeviceMatrix x,
            DeviceBuffer xa, DeviceMatrix dx, DeviceBuffer dA, DeviceBuffer dB, DeviceBuffer dBias) {
        List<DeviceBuffer> dAs = new ArrayList<>(1), dBs = new ArrayList<>(1);
        dAs.add(dA);
        dBs.add(dB);
        backward(s, f, List.of(new Part(f.out, ad, dropout)), dOut, x, xa, dx, dAs, dBs, dBias);
    }

    /**
     * The grouped backward: dOut {@code [T, Σ out]}, xa {@code [T, Σ rank]}, dx the sum over the
     * modules, dAs / dBs one entry per part (an entry may be null: frozen), dBias {@code [Σ out]}.
     */
    public void backward(CudaStream s, FoldedWeight f, List<Part> parts, DeviceMatrix dOut, DeviceMatrix x, DeviceBuffer xa,
            DeviceMatrix dx, List<DeviceBuffer> dAs, List<DeviceBuffer> dBs, DeviceBuffer dBias) {
        int T = x.rows();
        requireShape("x", x, T, f.in);
        requireShape("dOut", dOut, T, f.out);
        requireShape("dx", dx, T, f.in);
        if (dAs.size() != parts.size() || dBs.size() != parts.size()) throw new IllegalArgumentException("one dA and one dB per part");
        foldAdapter(s, parts, f);
        DeviceMatrix xaM = DeviceMatrix.of(xa, DType.F32, T, f.r);
        boolean dropout = anyDropout(parts);
        // Without dropout [x | xa] serves dA and dB; with it each module reads its own dropout(x).
        Dropout shared = parts.size() == 1 ? parts.get(0).dropout : Dropout.NONE;
        try (Scratch gcat = concat(s, dOut, f.out, f.r, Dropout.NONE); Scratch xcat = concat(s, x, f.in, f.r, shared)) {
            DeviceMatrix g = gcat.matrix().columns(0, f.out), gu = gcat.matrix().columns(f.out, f.r);
            DeviceMatrix xaBf16 = xcat.matrix().columns(f.in, f.r);
            gemm.gemm(s, g, false, f.scaledB(), false, gu, 1f, 0f);
            castRows(s, xaM, xaBf16, 1f, Dropout.NONE);
            int o = 0, q = 0;
            for (int i = 0; i < parts.size(); i++) {
                Part p = parts.get(i);
                int r = p.adapter.rank();
                DeviceBuffer dB = dBs.get(i), dA = dAs.get(i);
                if (dB != null) {
                    gemm.gemm(s, g.columns(o, p.out), true, xaBf16.columns(q, r), false, DeviceMatrix.of(dB, DType.F32, p.out, r),
                            p.adapter.scale(), 1f);
                }
                if (dA != null) {
                    DeviceMatrix dAm = DeviceMatrix.of(dA, DType.F32, r, f.in);
                    if (parts.size() == 1 || !p.dropout.active()) {
                        // xcat holds this module's input: dropout(x) for a single module, x for a group
                        gemm.gemm(s, gu.columns(q, r), true, xcat.matrix().columns(0, f.in), false, dAm, 1f, 1f);
                    } else {
                        try (Scratch xd = concatDropped(s, x, f.in, p.dropout)) {
                            gemm.gemm(s, gu.columns(q, r), true, xd.matrix(), false, dAm, 1f, 1f);
                        }
                    }
                }
                o += p.out;
                q += r;
            }
            if (!dropout) {
                gemm.gemm(s, gcat.matrix(), false, f.baseAndA(), false, dx, 1f, 0f);
            } else {
                gemm.gemm(s, g, false, f.w(), false, dx, 1f, 0f);
                try (DeviceBuffer tmp = pool.allocate(4L * T * f.in, s)) {
                    DeviceMatrix tm = DeviceMatrix.of(tmp, DType.F32, T, f.in);
                    q = 0;
                    for (Part p : parts) {
                        int r = p.adapter.rank();
                        if (p.dropout.active()) {
                            gemm.gemm(s, gu.columns(q, r), false, f.a().rows(q, r), false, tm, 1f, 0f);
                            dropoutAdd(s, dx, tmp, T, f.in, p.dropout);
                        } else {
                            gemm.gemm(s, gu.columns(q, r), false, f.a().rows(q, r), false, dx, 1f, 1f);
                        }
                        q += r;
                    }
                }
            }
            if (dBias != null) {
                gemm.gemm(s, onesRow(T), false, g, false, DeviceMatrix.of(dBias, DType.F32, 1, f.out), 1f, 1f);
            }
        }
    }

    private void dropoutAdd(CudaStream s, DeviceMatrix dx, DeviceBuffer tmp, int T, int in, Dropout dropout) {
        MemorySegment d = dx.pointer(), t = tmp.at(0, 4L * T * in), st = s.handle();
        int dt = ActivationType.code(dx.type());
        long ld = dx.ld(), cols = in, seed = dropout.seed(), threshold = keepThreshold(dropout);
        float keep = keepScale(dropout);
        api.run("jl_lora_dropout_add", () -> (int) dropoutAdd.invokeExact(d, dt, ld, t, (long) T, cols, seed, threshold, keep, st));
    }

    // --- scratch: [m | room] as bf16 with ld = cols + r, zero-copy when m already is that ---

    /** A bf16 matrix [rows, cols + r] that is either m's own buffer or a pooled copy (freed on close). */
    private record Scratch(DeviceMatrix matrix, DeviceBuffer owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned != null) owned.close();
        }
    }

    private Scratch concat(CudaStream s, DeviceMatrix m, int cols, int r, Dropout dropout) {
        if (!dropout.active() && m.type() == DType.BF16 && m.ld() == (long) cols + r) {
            return new Scratch(new DeviceMatrix(m.buffer(), m.offset(), DType.BF16, m.rows(), cols + r, cols + r), null);
        }
        DeviceBuffer b = pool.allocate(2L * m.rows() * (cols + r), s);
        DeviceMatrix wide = DeviceMatrix.of(b, DType.BF16, m.rows(), cols + r);
        castRows(s, m, wide.columns(0, cols), 1f, dropout);
        return new Scratch(wide, b);
    }

    /** dropout(x) as a dense bf16 [T, in] scratch. */
    private Scratch concatDropped(CudaStream s, DeviceMatrix x, int in, Dropout dropout) {
        DeviceBuffer b = pool.allocate(2L * x.rows() * in, s);
        DeviceMatrix m = DeviceMatrix.of(b, DType.BF16, x.rows(), in);
        castRows(s, x, m, 1f, dropout);
        return new Scratch(m, b);
    }

    private DeviceMatrix onesRow(int T) {
        if (T > onesCapacity) {
            if (ones != null) ones.close();
            int cap = Math.max(T, 4096);
            ones = new DeviceBuffer(api, 2L * cap);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(2L * cap, 16);
                for (int i = 0; i < cap; i++) host.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) 0x3F80); // bf16 1.0
                ones.copyFrom(host);
            }
            onesCapacity = cap;
        }
        return new DeviceMatrix(ones, 0, DType.BF16, 1, T, T);
    }

    /** dst (bf16) = bf16(src · mask · scale), both row-strided views of the same shape. */
    private void castRows(CudaStream s, DeviceMatrix src, DeviceMatrix dst, float scale, Dropout dropout) {
        if (dst.type() != DType.BF16) throw new IllegalArgumentException("cast target must be BF16");
        requireShape("cast target", dst, src.rows(), src.cols());
        MemorySegment sp = src.pointer(), dp = dst.pointer(), st = s.handle();
        int dt = ActivationType.code(src.type());
        long sld = src.ld(), dld = dst.ld(), rows = src.rows(), cols = src.cols(), seed = dropout.seed();
        long threshold = keepThreshold(dropout);
        float keep = keepScale(dropout);
        api.run("jl_lora_cast_rows", () -> (int) castRows.invokeExact(sp, dt, sld, dp, dld, rows, cols, scale, seed, threshold,
                keep, st));
    }

    /**
     * Dropout keeps element i iff uniform(seed, i) ≥ p with uniform = u · 2⁻⁵³ (u the top 53 bits of
     * SplitMix64): u ≥ p · 2⁵³, i.e. u ≥ ceil(p · 2⁵³) (p · 2⁵³ is exact: p is a float). 0 keeps all.
     */
    static long keepThreshold(Dropout d) {
        return d.active() ? (long) Math.ceil((double) d.p() * 0x1p53) : 0L;
    }

    /** The kept elements' factor, as Dropout#factor forms it in fp32. */
    static float keepScale(Dropout d) {
        return d.active() ? 1f / (1f - d.p()) : 1f;
    }

    /** Frees the bf16 ones row of the bias gradient (the Gemm and pool stay the caller's). */
    @Override
    public void close() {
        if (ones != null) ones.close();
        ones = null;
        onesCapacity = 0;
    }

    private static void requireShape(String what, DeviceMatrix m, int rows, int cols) {
        if (m.rows() != rows || m.cols() != cols) {
            throw new IllegalArgumentException(what + " is " + m.rows() + "×" + m.cols() + ", want " + rows + "×" + cols);
        }
    }
}
