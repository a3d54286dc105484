package jlora.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import jlora.train.AdamHyperparameters;
import jlora.train.AdamW8bit;
import jlora.train.Param;
import jlora.train.StateStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuda/adamw8bit.cu against the CPU's {@link AdamW8bit} (itself a transcription of bitsandbytes'
 * blockwise 8-bit Adam kernels) bit for bit: parameters, the 8-bit codes of both moments and both
 * absmax arrays, and the fp32 moments of a parameter under min_8bit_size (bnb's 32-bit path), after
 * each of four steps. Both sides do IEEE float operations in the same order with the same floats
 * ({@link AdamW8bit.Constants}), so no tolerance is needed or given. Steps 1-3 are clipped by the
 * global norm over both parameters: the device's grad-norm kernel (AdamWKernels) computes the
 * coefficient, checked against an fp64 norm within 1e-5, and the CPU gradients are multiplied by
 * that same float as GradClip does, so the optimizer is compared on identical inputs. Step 4 is
 * unclipped and carries ±Inf and NaN gradients (the moments are zeroed, the parameter kept). The
 * 8-bit parameter runs twice on the device, with resident state and with paged state (pinned host
 * memory streamed through two device chunks, the last chunk and the last block partial), and the two
 * must agree with the CPU and so with each other; the resident step runs once per kernel variant
 * (cuda/adamw8bit.cuh; the benchmark times them against each other), each checked the same way. Fresh random inputs per run; the seed is in every
 * message.
 */
@Tag("gpu")
class AdamW8bitKernelsTest {
    private CudaApi api;

    @BeforeEach
    void requireGpu() {
        api = GpuParity.requireGpu();
    }

    @Test
    void clippedStepsMatchCpuAdamW8bitBitForBitPagedAndResident() {
        long seed = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        check(seed, r, 256 * 61 + 77, 4096);
        check(seed, r, (1 << 18) + 300, 1 << 16);
    }

    private void check(long seed, SplittableRandom r, int nBig, long chunk) {
        int nSmall = 1000; // under min_8bit_size (4096): bitsandbytes' fp32-state path
        AdamHyperparameters hp = new AdamHyperparameters(0.9, 0.995, 1e-7, 0.05);
        float maxNorm = 1.0f;
        try (Arena arena = Arena.ofShared()) {
            float[] pBig0 = GpuParity.gaussian(r, nBig, 0.05), pSmall0 = GpuParity.gaussian(r, nSmall, 0.05);
            Param big = new Param("big", tensor(arena, pBig0), Tensor.allocate(DType.F32, Shape.of(nBig), arena), true);
            Param small = new Param("small", tensor(arena, pSmall0), Tensor.allocate(DType.F32, Shape.of(nSmall), arena),
                    false);
            AdamW8bitKernels k = new AdamW8bitKernels(api);
            AdamWKernels norms = new AdamWKernels(api);
            try (AdamW8bit cpu = new AdamW8bit(List.of(big, small), hp, StateStore.host());
                    k;
                    Residents resident = new Residents(api, arena, pBig0, k.variants());
                    DeviceBuffer dBigPaged = GpuParity.upload(api, arena, pBig0);
                    DeviceBuffer dSmall = GpuParity.upload(api, arena, pSmall0);
                    DeviceBuffer m = GpuParity.upload(api, arena, new float[nSmall]);
                    DeviceBuffer v = GpuParity.upload(api, arena, new float[nSmall]);
                    AdamW8bitKernels.HostState paged = AdamW8bitKernels.HostState.allocate(api, nBig);
                    AdamW8bitKernels.Pager pager = k.pager(chunk);
                    DeviceBuffer ws = new DeviceBuffer(api, norms.gradNormWorkspaceBytes())) {
                long staged = 2 * (2 * chunk + 8 * chunk / 256);
                if (pager.deviceBytes() != staged) {
                    throw new AssertionError("pager holds " + pager.deviceBytes() + " device bytes, want two chunks = " + staged);
                }
                for (int t = 1; t <= 4; t++) {
                    String c = "seed=" + seed + " nBig=" + nBig + " chunk=" + chunk + " step=" + t;
                    boolean clip = t <= 3;
                    // step 2's gradients are small enough that the coefficient clamps to 1
                    double sd = 3.0 / Math.sqrt(nBig + nSmall) * (t == 2 ? 0.1 : 1.0);
                    float[] gBig = GpuParity.gaussian(r, nBig, sd), gSmall = GpuParity.gaussian(r, nSmall, sd);
                    if (!clip) {
                        gBig[r.nextInt(nBig)] = Float.POSITIVE_INFINITY;
                        gBig[r.nextInt(nBig)] = Float.NEGATIVE_INFINITY;
                        gBig[r.nextInt(nBig)] = Float.NaN;
                    }
                    double lr = 1e-3 * (1 + 0.25 * t);
                    try (DeviceBuffer dgBig = GpuParity.upload(api, arena, gBig);
                            DeviceBuffer dgSmall = GpuParity.upload(api, arena, gSmall);
                            DeviceBuffer dgAll = GpuParity.upload(api, arena, concat(gBig, gSmall));
                            DeviceBuffer out = GpuParity.poisoned(api, 8, 0xFF)) {
                        float coef = 1.0f;
                        if (clip) {
                            norms.gradNorm(dgAll, nBig + nSmall, maxNorm, ws, out);
                            float[] got = GpuParity.downloadF32(arena, out, 2);
                            double ss = 0;
                            for (float x : gBig) ss += (double) x * x;
                            for (float x : gSmall) ss += (double) x * x;
                            double norm = Math.sqrt(ss);
                            GpuParity.assertClose("grad norm " + c, new float[] {(float) norm,
                                (float) Math.min(1.0, maxNorm / (norm + 1e-6))}, got, 1e-5, 0);
                            coef = got[1];
                        }
                        // the CPU side: GradClip.scale's float multiply by the device's coefficient
                        setGrad(big, gBig, coef);
                        setGrad(small, gSmall, coef);
                        cpu.step(lr);

                        AdamW8bit.Constants decayed = AdamW8bit.Constants.of(hp, lr, t);
                        DeviceBuffer scale = clip ? out : null;
                        for (int variant = 0; variant < resident.p.length; variant++) {
                            k.step(resident.p[variant], dgBig, resident.st[variant], scalars(decayed), scale, 1, variant);
                        }
                        k.step(dBigPaged, dgBig, paged, pager, scalars(decayed), scale, 1);
                        k.stepFp32(dSmall, dgSmall, m, v, nSmall, scalars(decayed.withoutDecay()), scale, 1);
                        api.synchronize();
                    }
                    var state = cpu.saveState().tensors();
                    float[] wantBig = big.value().toFloatArray();
                    for (int variant = 0; variant < resident.p.length; variant++) {
                        assertBits("param (resident, kernel variant " + variant + ") " + c, wantBig,
                                GpuParity.downloadF32(arena, resident.p[variant], nBig));
                    }
                    assertBits("param (paged) " + c, wantBig, GpuParity.downloadF32(arena, dBigPaged, nBig));
                    assertBits("param (fp32 state) " + c, small.value().toFloatArray(), GpuParity.downloadF32(arena, dSmall, nSmall));
                    assertBits("m (fp32 state) " + c, state.get("small.state1").toFloatArray(), GpuParity.downloadF32(arena, m, nSmall));
                    assertBits("v (fp32 state) " + c, state.get("small.state2").toFloatArray(), GpuParity.downloadF32(arena, v, nSmall));
                    int blocks = Math.ceilDiv(nBig, 256);
                    byte[][] wantCodes = {state.get("big.state1").data().toArray(ValueLayout.JAVA_BYTE),
                        state.get("big.state2").data().toArray(ValueLayout.JAVA_BYTE)};
                    float[][] wantAbsmax = {state.get("big.absmax1").toFloatArray(), state.get("big.absmax2").toFloatArray()};
                    PinnedHostBuffer[] pq = {paged.q1(), paged.q2()}, pa = {paged.a1(), paged.a2()};
                    for (int s = 0; s < 2; s++) {
                        String which = s == 0 ? "m" : "v";
                        for (int variant = 0; variant < resident.p.length; variant++) {
                            AdamW8bitKernels.DeviceState st = resident.st[variant];
                            String how = " (resident, kernel variant " + variant + ") " + c;
                            assertBytes(which + " codes" + how, wantCodes[s], downloadBytes(arena, s == 0 ? st.q1() : st.q2(), nBig));
                            assertBits(which + " absmax" + how, wantAbsmax[s],
                                    GpuParity.downloadF32(arena, s == 0 ? st.a1() : st.a2(), blocks));
                        }
                        assertBytes(which + " codes (paged) " + c, wantCodes[s], pq[s].segment().toArray(ValueLayout.JAVA_BYTE));
                        assertBits(which + " absmax (paged) " + c, wantAbsmax[s],
                                pa[s].segment().toArray(ValueLayout.JAVA_FLOAT));
                    }
                }
            }
        }
    }

    /** One parameter copy and resident state per kernel variant. */
    private static final class Residents implements AutoCloseable {
        final DeviceBuffer[] p;
        final AdamW8bitKernels.DeviceState[] st;

        Residents(CudaApi api, Arena arena, float[] p0, int variants) {
            p = new DeviceBuffer[variants];
            st = new AdamW8bitKernels.DeviceState[variants];
            try {
                for (int i = 0; i < variants; i++) {
                    p[i] = GpuParity.upload(api, arena, p0);
                    st[i] = AdamW8bitKernels.DeviceState.allocate(api, p0.length);
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() {
            for (DeviceBuffer b : p) if (b != null) b.close();
            for (AdamW8bitKernels.DeviceState s : st) if (s != null) s.close();
        }
    }

    private static AdamW8bitKernels.Scalars scalars(AdamW8bit.Constants c) {
        return new AdamW8bitKernels.Scalars(c.beta1(), c.beta2(), c.eps(), c.lr(), c.weightDecay(), c.correction2(),
                c.stepSize());
    }

    private static Tensor tensor(Arena arena, float[] v) {
        return Tensor.of(DType.F32, Shape.of(v.length), v, arena);
    }

    private static void setGrad(Param p, float[] g, float coef) {
        MemorySegment d = p.grad().data();
        for (int i = 0; i < g.length; i++) d.setAtIndex(ValueLayout.JAVA_FLOAT, i, coef < 1.0f ? g[i] * coef : g[i]);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = new float[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static byte[] downloadBytes(Arena arena, DeviceBuffer b, int n) {
        MemorySegment host = arena.allocate(Math.max(n, 1), 16);
        b.copyTo(host.asSlice(0, n));
        return host.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    private static void assertBits(String context, float[] want, float[] got) {
        if (want.length != got.length) throw new AssertionError(context + ": length " + got.length + " != " + want.length);
        GpuParity.assertBits(context, want, got);
    }

    private static void assertBytes(String context, byte[] want, byte[] got) {
        if (want.length != got.length) throw new AssertionError(context + ": length " + got.length + " != " + want.length);
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                throw new AssertionError(String.format("%s: first mismatch at %d (block %d): want code %d got %d, n = %d",
                        context, i, i / 256, want[i] & 0xFF, got[i] & 0xFF, want.length));
            }
        }
    }
}
