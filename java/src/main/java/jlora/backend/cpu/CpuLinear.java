package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.get;
import static jlora.backend.cpu.Floats.param;
import static jlora.backend.cpu.Floats.set;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jlora.backend.DenseWeight;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.tensor.Tensor;

/**
 * Linear and LoRA linear. LoRA follows PEFT's {@code lora.Linear.forward}:
 * y = x·Wᵀ + b + scale · (dropout(x)·Aᵀ)·Bᵀ, W frozen. With xd = dropout(x), u = xd·Aᵀ
 * (saved as xa) and g = dy, the backward is dB += scale · gᵀ·u, gu = scale · g·B,
 * dA += guᵀ·xd, dx = g·W + mask ∘ (gu·A). The mask is regenerated from the seed.
 */
final class CpuLinear {
    private CpuLinear() {}

    static void linear(Tensor x, LinearWeight w, Tensor bias, Tensor out) {
        int T = checkRows(x, w, out);
        CpuMatmul.nt(x.data(), T, w.inFeatures(), w, 0, w.outFeatures(), out.data(), w.outFeatures(), 1f, false);
        if (bias != null) addBias(bias, out, T, w.outFeatures());
    }

    static void linearBackward(Tensor dOut, LinearWeight w, Tensor dx, Tensor dBias) {
        int T = checkRows(dx, w, dOut);
        CpuMatmul.nn(dOut.data(), w.outFeatures(), T, w, 0, w.outFeatures(), dx.data(), 1f, false);
        if (dBias != null) biasGrad(dOut, dBias, T, w.outFeatures());
    }

    static void lora(Tensor x, LinearWeight w, Tensor bias, Tensor a, Tensor b, float scale, Dropout dropout,
                     Tensor out, Tensor xa) {
        int T = checkRows(x, w, out);
        int r = checkAdapter(w, a, b);
        Floats.requireF32("xa", xa);
        Floats.requireShape("xa", xa, T, r);
        int in = w.inFeatures(), n = w.outFeatures();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment xd = dropped(x, dropout, arena);
            CpuMatmul.nt(xd, T, in, new DenseWeight(a), 0, r, xa.data(), r, 1f, false);
        }
        CpuMatmul.nt(x.data(), T, in, w, 0, n, out.data(), n, 1f, false);
        if (bias != null) addBias(bias, out, T, n);
        CpuMatmul.nt(xa.data(), T, r, new DenseWeight(b), 0, n, out.data(), n, scale, true);
    }

    static void loraBackward(Tensor dOut, Tensor x, LinearWeight w, Tensor a, Tensor b, float scale, Dropout dropout,
                             Tensor xa, Tensor dx, Tensor dA, Tensor dB, Tensor dBias) {
        int T = checkRows(x, w, dOut);
        int r = checkAdapter(w, a, b);
        Floats.requireShape("dx", dx, x.shape().dims());
        Floats.requireF32("dx", dx);
        Floats.requireShape("xa", xa, T, r);
        Floats.requireShape("dA", dA, a.shape().dims());
        Floats.requireShape("dB", dB, b.shape().dims());
        Floats.requireF32("dA", dA);
        Floats.requireF32("dB", dB);
        int in = w.inFeatures(), n = w.outFeatures();
        CpuMatmul.tn(dOut.data(), n, T, n, xa.data(), r, dB.data(), scale);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment gu = arena.allocate((long) T * r * 4, 64);
            CpuMatmul.nn(dOut.data(), n, T, new DenseWeight(b), 0, n, gu, scale, false);
            MemorySegment xd = dropped(x, dropout, arena);
            CpuMatmul.tn(gu, r, T, r, xd, in, dA.data(), 1f);
            CpuMatmul.nn(dOut.data(), n, T, w, 0, n, dx.data(), 1f, false);
            if (!dropout.active()) {
                CpuMatmul.nn(gu, r, T, new DenseWeight(a), 0, r, dx.data(), 1f, true);
            } else {
                MemorySegment tmp = arena.allocate((long) T * in * 4, 64);
                CpuMatmul.nn(gu, r, T, new DenseWeight(a), 0, r, tmp, 1f, false);
                MemorySegment dxs = dx.data();
                Parallel.forRanges(T, 16, (t0, t1) -> {
                    for (long i = (long) t0 * in; i < (long) t1 * in; i++) set(dxs, i, get(dxs, i) + dropout.factor(i) * get(tmp, i));
                });
            }
        }
        if (dBias != null) biasGrad(dOut, dBias, T, n);
    }

    /** dropout(x) in a scratch segment from {@code arena}, or x itself when p = 0. */
    private static MemorySegment dropped(Tensor x, Dropout dropout, Arena arena) {
        if (!dropout.active()) return x.data();
        MemorySegment xs = x.data(), xd = arena.allocate(x.byteSize(), 64);
        Parallel.forRanges(Math.toIntExact(x.numel()), 4096, (i0, i1) -> {
            for (int i = i0; i < i1; i++) set(xd, i, get(xs, i) * dropout.factor(i));
        });
        return xd;
    }

    private static void addBias(Tensor bias, Tensor out, int T, int n) {
        Floats.requireFloatParam("bias", bias);
        Floats.requireShape("bias", bias, n);
        MemorySegment os = out.data();
        Parallel.forRanges(T, 16, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                for (int j = 0; j < n; j++) set(os, (long) t * n + j, get(os, (long) t * n + j) + param(bias, j));
            }
        });
    }

    /** dBias_j += Σ_t dOut[t, j], columns in parallel. */
    private static void biasGrad(Tensor dOut, Tensor dBias, int T, int n) {
        Floats.requireF32("dBias", dBias);
        Floats.requireShape("dBias", dBias, n);
        MemorySegment gs = dOut.data(), bs = dBias.data();
        Parallel.forRanges(n, 64, (j0, j1) -> {
            for (int j = j0; j < j1; j++) {
                float s = 0f;
                for (int t = 0; t < T; t++) s += get(gs, (long) t * n + j);
                set(bs, j, get(bs, j) + s);
            }
        });
    }

    /** x [T, in] and y [T, out] F32, matching w; returns T. */
    private static int checkRows(Tensor x, LinearWeight w, Tensor y) {
        Floats.requireF32("x", x);
        Floats.requireF32("y", y);
        int T = Floats.rows(x);
        Floats.requireShape("x", x, T, w.inFeatures());
        Floats.requireShape("y", y, T, w.outFeatures());
        return T;
    }

    private static int checkAdapter(LinearWeight w, Tensor a, Tensor b) {
        Floats.requireF32("lora A", a);
        Floats.requireF32("lora B", b);
        int r = (int) a.shape().dim(0);
        Floats.requireShape("lora A", a, r, w.inFeatures());
        Floats.requireShape("lora B", b, w.outFeatures(), r);
        return r;
    }
}
