package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * cuda/flash_attention.cu against {@link CpuBackend#attention} / {@link CpuBackend#attentionBackward}
 * (fp32, exact softmax) on fresh Gaussian q, k, v, dOut rounded to bf16 (so both sides read the
 * same values). Shape classes: short, odd lengths, long (1024), packed documents of mixed
 * lengths (1 token to past two tiles), GQA ratios 1, 4, 7 and 8, head_dim 64 and 128. Outputs
 * are poisoned (NaN, then a finite pattern) before every run.
 * <p>Bounds come from the kernel's own arithmetic: {@link FlashEmulation} replays it on the CPU
 * with the same bf16 roundings (P before P·V, out, D from the bf16 out, dS and P before the
 * backward matmuls, the outputs), and its worst distance E from the fp32 reference is what
 * rounding alone costs on these inputs (dq: up to ~8 % of rms(dq) at the second token of a
 * document, where dS is large and D = dO·out inherits out's rounding). Each element of out, dq,
 * dk, dv must then lie within 2·E + 1 bf16 ulp + 2e-3·rms of the emulation, so at most ~3·E
 * from exact (FlashAttention's own tests allow 2× a bf16 reference's error); a bug of the
 * size of the rounding error shows up, fp32 summation order and rare bf16 rounding flips do
 * not. The emulation itself must stay within 0.15·rms of the fp32 reference (FlashEmulationTest
 * checks its algebra with rounding off). lse within 1e-4 · (|want| + 1). The backward runs
 * twice and must give the same bits (no atomics). Every case and check runs; all failures are
 * reported together.
 * Decode: one query token against the whole cache equals that token's attention computed in
 * fp64 here (out 1e-2 · (|want| + rms): the decode kernels round only out; lse 1e-4 · (|want| +
 * 1)), with caches from one key to past the 528-split cap.
 */
@Tag("gpu")
class FlashAttentionKernelsTest {
    private static final double OUT_TOL = 1e-2, LSE_TOL = 1e-4;
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    private record Case(int[] docs, int hq, int hkv, int d) {
        @Override
        public String toString() {
            return "docs=" + Arrays.toString(docs) + " hq=" + hq + " hkv=" + hkv + " d=" + d;
        }
    }

    /** One seed per class run: every version sees the same inputs, references computed once. */
    private static final long SEED = System.nanoTime();
    private static final Case[] CASES = {
        new Case(new int[] {5}, 2, 2, 64),                 // short, GQA 1
        new Case(new int[] {77}, 8, 2, 128),               // odd, GQA 4
        new Case(new int[] {129}, 7, 1, 128),              // odd past two tiles, GQA 7
        new Case(new int[] {3, 64, 100, 1, 130}, 14, 2, 64), // packed, GQA 7
        new Case(new int[] {33, 200, 17}, 8, 1, 128),      // packed, GQA 8
        new Case(new int[] {1024}, 8, 1, 128),             // long, GQA 8
        new Case(new int[] {1000}, 4, 1, 64),              // long, GQA 4, not a tile multiple
    };
    private static List<Prepared> prepared;

    /** Inputs (bf16 values as floats), the fp32 reference and the bf16 emulation of one case. */
    private record Prepared(Case c, float[] q, float[] k, float[] v, float[] dOut, Want want, FlashEmulation emu) {}

    /**
     * JLORA_FLASH_TEST_SMALL=1: only the shapes of at most 300 tokens / cache length 600 (every
     * class but "long"), for compute-sanitizer runs (racecheck instruments every shared access).
     */
    private static final boolean SMALL = "1".equals(System.getenv("JLORA_FLASH_TEST_SMALL"));

    private static synchronized List<Prepared> prepared() {
        if (prepared == null) {
            SplittableRandom r = new SplittableRandom(SEED);
            List<Prepared> list = new ArrayList<>();
            for (Case c : CASES) {
                if (!SMALL || Arrays.stream(c.docs).sum() <= 300) list.add(prepare(r, c));
            }
            prepared = list;
        }
        return prepared;
    }

    private static Prepared prepare(SplittableRandom r, Case c) {
        int[] ids = ids(c);
        int T = ids.length, nq = T * c.hq * c.d, nk = T * c.hkv * c.d;
        CpuBackend cpu = new CpuBackend();
        try (Arena arena = Arena.ofShared()) {
            float[] q = bf16(GpuParity.gaussian(r, nq, 1.0)), kk = bf16(GpuParity.gaussian(r, nk, 1.0));
            float[] v = bf16(GpuParity.gaussian(r, nk, 1.0)), g = bf16(GpuParity.gaussian(r, nq, 1.0));
            Tensor qt = GpuParity.f32(arena, q, T, c.hq, c.d), kt = GpuParity.f32(arena, kk, T, c.hkv, c.d);
            Tensor vt = GpuParity.f32(arena, v, T, c.hkv, c.d), gt = GpuParity.f32(arena, g, T, c.hq, c.d);
            Tensor seg = GpuParity.i32(arena, ids);
            Tensor ot = GpuParity.f32(arena, new float[nq], T, c.hq, c.d), lt = GpuParity.f32(arena, new float[T * c.hq], T, c.hq);
            cpu.attention(qt, kt, vt, seg, ot, lt);
            Tensor dqt = GpuParity.f32(arena, new float[nq], T, c.hq, c.d);
            Tensor dkt = GpuParity.f32(arena, new float[nk], T, c.hkv, c.d), dvt = GpuParity.f32(arena, new float[nk], T, c.hkv, c.d);
            cpu.attentionBackward(gt, qt, kt, vt, seg, ot, lt, dqt, dkt, dvt);
            Want want = new Want(ot.toFloatArray(), lt.toFloatArray(), dqt.toFloatArray(), dkt.toFloatArray(), dvt.toFloatArray());
            FlashEmulation emu = FlashEmulation.run(SequencePacking.of(ids).cuSeqlens(), c.hq, c.hkv, c.d, q, kk, v, g);
            return new Prepared(c, q, kk, v, g, want, emu);
        }
    }

    private static int[] ids(Case c) {
        int[] ids = new int[Arrays.stream(c.docs).sum()];
        for (int b = 0, t = 0; b < c.docs.length; b++) for (int i = 0; i < c.docs[b]; i++) ids[t++] = b;
        return ids;
    }

    @ParameterizedTest
    @EnumSource(FlashAttentionKernels.Version.class)  // in order: a broken v2 cannot take v1's results with it
    void forwardAndBackwardMatchCpu(FlashAttentionKernels.Version version) {
        List<String> failures = new ArrayList<>();
        for (Prepared p : prepared()) {
            try {
                check(p, version, failures);
            } catch (RuntimeException | AssertionError e) {
                failures.add(version + " seed=" + SEED + " " + p.c() + ": " + e);
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " failure(s):\n  " + String.join("\n  ", failures));
        }
    }

    private static double rms(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s / Math.max(1, v.length));
    }

    private void check(Prepared p, FlashAttentionKernels.Version version, List<String> failures) {
        Case c = p.c();
        String ctx = version + " seed=" + SEED + " " + c;
        SequencePacking packing = SequencePacking.of(ids(c));
        int T = packing.totalTokens(), nq = T * c.hq * c.d, nk = T * c.hkv * c.d;
        try (Arena arena = Arena.ofShared()) {
            FlashAttentionKernels k = new FlashAttentionKernels(api, version);
            try (DeviceBuffer dq0 = up(arena, p.q(), nq); DeviceBuffer dk0 = up(arena, p.k(), nk);
                    DeviceBuffer dv0 = up(arena, p.v(), nk); DeviceBuffer dg = up(arena, p.dOut(), nq); DeviceBuffer cu = k.upload(packing);
                    DeviceBuffer ws = new DeviceBuffer(api, k.backwardWorkspaceBytes(T, c.hq))) {
                for (int poison : GpuParity.POISONS) {
                    String pc = ctx + " poison=0x" + Integer.toHexString(poison);
                    try {
                        run(arena, k, c, packing, new Inputs(dq0, dk0, dv0, dg, cu, ws), poison, pc, p.want(), p.emu(), failures);
                    } catch (RuntimeException e) {
                        failures.add(pc + ": " + e);
                    }
                }
            }
        }
    }

    private record Want(float[] out, float[] lse, float[] dq, float[] dk, float[] dv) {}

    /** q, k, v, dOut (bf16), cu_seqlens and the backward workspace on the device. */
    private record Inputs(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer dOut, DeviceBuffer cu, DeviceBuffer ws) {}

    /** One forward + two backward runs on poisoned outputs; failures are collected. */
    private void run(Arena arena, FlashAttentionKernels k, Case c, SequencePacking packing, Inputs in, int poison, String pc,
            Want want, FlashEmulation emu, List<String> failures) {
        int T = packing.totalTokens(), nq = T * c.hq * c.d, nk = T * c.hkv * c.d;
        try (DeviceBuffer o = GpuParity.poisoned(api, 2L * nq, poison);
                DeviceBuffer l = GpuParity.poisoned(api, 4L * T * c.hq, poison);
                DeviceBuffer gq = GpuParity.poisoned(api, 2L * nq, poison);
                DeviceBuffer gk = GpuParity.poisoned(api, 2L * nk, poison);
                DeviceBuffer gv = GpuParity.poisoned(api, 2L * nk, poison)) {
            k.forward(in.q(), in.k(), in.v(), packing, in.cu(), c.hq, c.hkv, c.d, o, l);
            float[] gotO = GpuParity.download(arena, o, DType.BF16, nq);
            collect(failures, () -> FlashEmulation.assertMatches("flash out " + pc, want.out(), emu.out(), gotO));
            collect(failures, () -> GpuParity.assertClose("flash lse " + pc, want.lse(),
                    GpuParity.downloadF32(arena, l, T * c.hq), LSE_TOL, 1));
            k.backward(in.dOut(), in.q(), in.k(), in.v(), o, l, packing, in.cu(), c.hq, c.hkv, c.d, gq, gk, gv, in.ws());
            float[] gotDq = GpuParity.download(arena, gq, DType.BF16, nq);
            float[] gotDk = GpuParity.download(arena, gk, DType.BF16, nk);
            float[] gotDv = GpuParity.download(arena, gv, DType.BF16, nk);
            collect(failures, () -> FlashEmulation.assertMatches("flash dq " + pc, want.dq(), emu.dq(), gotDq));
            collect(failures, () -> FlashEmulation.assertMatches("flash dk " + pc, want.dk(), emu.dk(), gotDk));
            collect(failures, () -> FlashEmulation.assertMatches("flash dv " + pc, want.dv(), emu.dv(), gotDv));
            k.backward(in.dOut(), in.q(), in.k(), in.v(), o, l, packing, in.cu(), c.hq, c.hkv, c.d, gq, gk, gv, in.ws());
            float[] againDq = GpuParity.download(arena, gq, DType.BF16, nq);
            float[] againDk = GpuParity.download(arena, gk, DType.BF16, nk);
            float[] againDv = GpuParity.download(arena, gv, DType.BF16, nk);
            collect(failures, () -> GpuParity.assertBits("flash dq run-to-run " + pc, gotDq, againDq));
            collect(failures, () -> GpuParity.assertBits("flash dk run-to-run " + pc, gotDk, againDk));
            collect(failures, () -> GpuParity.assertBits("flash dv run-to-run " + pc, gotDv, againDv));
        }
    }

    // cache lengths: one key; within one split (64 keys); several splits with a ragged last one;
    // GQA 16:1 (v2 splits a group into blocks of 8 query heads) and 7:1; past the split cap
    // (528 splits of 65 keys: two tiles per block, the second with one key). {len, hq, hkv, d}
    private static final int[][] DECODE_SHAPES = {{1, 2, 2, 64}, {40, 7, 1, 128}, {200, 7, 1, 128}, {1500, 8, 2, 64},
        {1100, 8, 1, 128}, {600, 16, 1, 64}, {520, 28, 4, 128}, {34000, 8, 1, 64}};
    private static List<DecodeCase> decodeCases;

    /** One query token (q [hq, d]), its cache and the fp64 attention of that token over the cache. */
    private record DecodeCase(int len, int hq, int hkv, int d, float[] last, float[] k, float[] v, float[] wantO, float[] wantL) {}

    private static synchronized List<DecodeCase> decodeCases() {
        if (decodeCases == null) {
            SplittableRandom r = new SplittableRandom(SEED + 1);
            List<DecodeCase> list = new ArrayList<>();
            for (int[] s : DECODE_SHAPES) {
                int T = s[0], hq = s[1], hkv = s[2], d = s[3];
                if (SMALL && T > 600) continue;
                float[] q = bf16(GpuParity.gaussian(r, hq * d, 1.0)), kk = bf16(GpuParity.gaussian(r, T * hkv * d, 1.0));
                float[] v = bf16(GpuParity.gaussian(r, T * hkv * d, 1.0));
                float[] wantO = new float[hq * d], wantL = new float[hq];
                lastRow(q, kk, v, T, hq, hkv, d, wantO, wantL);
                list.add(new DecodeCase(T, hq, hkv, d, q, kk, v, wantO, wantL));
            }
            decodeCases = list;
        }
        return decodeCases;
    }

    /** softmax(q·kᵀ/√d)·v and its log-sum-exp for one token that sees every key, in fp64. */
    private static void lastRow(float[] q, float[] k, float[] v, int T, int hq, int hkv, int d, float[] out, float[] lse) {
        double scale = 1.0 / Math.sqrt(d);
        double[] sc = new double[T];
        for (int h = 0; h < hq; h++) {
            int kh = h / (hq / hkv);
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < T; j++) {
                double dot = 0;
                for (int c = 0; c < d; c++) dot += (double) q[h * d + c] * k[(j * hkv + kh) * d + c];
                sc[j] = dot * scale;
                max = Math.max(max, sc[j]);
            }
            double sum = 0;
            double[] o = new double[d];
            for (int j = 0; j < T; j++) {
                double p = Math.exp(sc[j] - max);
                sum += p;
                for (int c = 0; c < d; c++) o[c] += p * v[(j * hkv + kh) * d + c];
            }
            for (int c = 0; c < d; c++) out[h * d + c] = (float) (o[c] / sum);
            lse[h] = (float) (max + Math.log(sum));
        }
    }

    @ParameterizedTest
    @EnumSource(FlashAttentionKernels.Version.class)
    void decodeMatchesFloat64AttentionOfOneToken(FlashAttentionKernels.Version version) {
        List<String> failures = new ArrayList<>();
        for (DecodeCase c : decodeCases()) checkDecode(version, c, failures);
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " failure(s):\n  " + String.join("\n  ", failures));
        }
    }

    private void checkDecode(FlashAttentionKernels.Version version, DecodeCase c, List<String> failures) {
        String ctx = version + " seed=" + (SEED + 1) + " len=" + c.len() + " hq=" + c.hq() + " hkv=" + c.hkv() + " d=" + c.d();
        int row = c.hq() * c.d(), nk = c.len() * c.hkv() * c.d();
        FlashAttentionKernels k = new FlashAttentionKernels(api, version);
        try (Arena arena = Arena.ofShared(); DeviceBuffer dq = up(arena, c.last(), row); DeviceBuffer dk = up(arena, c.k(), nk);
                DeviceBuffer dv = up(arena, c.v(), nk); DeviceBuffer ws = new DeviceBuffer(api, k.decodeWorkspaceBytes(c.len(), c.hq(), c.d()))) {
            for (int poison : GpuParity.POISONS) {
                String pc = ctx + " poison=0x" + Integer.toHexString(poison);
                try (DeviceBuffer o = GpuParity.poisoned(api, 2L * row, poison); DeviceBuffer l = GpuParity.poisoned(api, 4L * c.hq(), poison)) {
                    k.decode(dq, dk, dv, c.len(), c.hq(), c.hkv(), c.d(), o, l, ws);
                    float[] gotO = GpuParity.download(arena, o, DType.BF16, row);
                    float[] gotL = GpuParity.downloadF32(arena, l, c.hq());
                    collect(failures, () -> GpuParity.assertClose("decode out " + pc, c.wantO(), gotO, OUT_TOL, rms(c.wantO())));
                    collect(failures, () -> GpuParity.assertClose("decode lse " + pc, c.wantL(), gotL, LSE_TOL, 1));
                } catch (RuntimeException e) {
                    failures.add(pc + ": " + e);
                }
            }
        }
    }

    private static void collect(List<String> failures, Runnable check) {
        try {
            check.run();
        } catch (AssertionError e) {
            failures.add(e.getMessage());
        }
    }

    private static float[] bf16(float[] v) {
        return GpuParity.representable(DType.BF16, v);
    }

    private DeviceBuffer up(Arena arena, float[] v, int n) {
        return GpuParity.upload(api, GpuParity.tensor(arena, DType.BF16, v, n));
    }
}
