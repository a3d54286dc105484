package jlora.backend.cpu;

import static jlora.backend.cpu.Floats.get;
import static jlora.backend.cpu.Floats.getInt;
import static jlora.backend.cpu.Floats.param;
import static jlora.backend.cpu.Floats.set;

import java.lang.foreign.MemorySegment;
import jlora.tensor.Tensor;

/** The ops that are one loop over elements or rows: add, SwiGLU, embedding lookup. */
final class CpuElementwise {
    private CpuElementwise() {}

    static void add(Tensor a, Tensor b, Tensor out) {
        for (Tensor t : new Tensor[] {a, b, out}) Floats.requireF32("add operand", t);
        Floats.requireShape("b", b, a.shape().dims());
        Floats.requireShape("out", out, a.shape().dims());
        MemorySegment as = a.data(), bs = b.data(), os = out.data();
        long n = a.numel();
        Parallel.forRanges(Math.toIntExact(n), 4096, (i0, i1) -> {
            for (int i = i0; i < i1; i++) set(os, i, get(as, i) + get(bs, i));
        });
    }

    /** silu(g) = g·σ(g); out = silu(g)·u (Llama / Qwen MLP: down(silu(gate(x)) · up(x))). */
    static void swiglu(Tensor gate, Tensor up, Tensor out) {
        checkSame(gate, up, out);
        MemorySegment gs = gate.data(), us = up.data(), os = out.data();
        Parallel.forRanges(Math.toIntExact(gate.numel()), 4096, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float g = get(gs, i);
                set(os, i, g * sigmoid(g) * get(us, i));
            }
        });
    }

    /** d silu(g)/dg = σ(g) · (1 + g · (1 − σ(g))). */
    static void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        checkSame(gate, up, dOut);
        checkSame(gate, dGate, dUp);
        MemorySegment ds = dOut.data(), gs = gate.data(), us = up.data(), dgs = dGate.data(), dus = dUp.data();
        Parallel.forRanges(Math.toIntExact(gate.numel()), 4096, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float g = get(gs, i), d = get(ds, i), sig = sigmoid(g);
                set(dus, i, d * g * sig);
                set(dgs, i, d * get(us, i) * sig * (1f + g * (1f - sig)));
            }
        });
    }

    private static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    private static void checkSame(Tensor a, Tensor b, Tensor c) {
        for (Tensor t : new Tensor[] {a, b, c}) Floats.requireF32("swiglu operand", t);
        Floats.requireShape("swiglu operand", b, a.shape().dims());
        Floats.requireShape("swiglu operand", c, a.shape().dims());
    }

    static void embedding(Tensor table, Tensor ids, Tensor out) {
        int V = checkEmbedding(table, ids, out, "out");
        int T = (int) ids.numel(), D = Floats.lastDim(table);
        MemorySegment is = ids.data(), os = out.data();
        Parallel.forRanges(T, 16, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                long row = tokenRow(getInt(is, t), V, t);
                for (int i = 0; i < D; i++) set(os, (long) t * D + i, param(table, row * D + i));
            }
        });
    }

    static void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        Floats.requireF32("dTable", dTable);
        int V = checkEmbedding(dTable, ids, dOut, "dOut");
        int T = (int) ids.numel(), D = Floats.lastDim(dTable);
        MemorySegment is = ids.data(), gs = dOut.data(), ts = dTable.data();
        for (int t = 0; t < T; t++) tokenRow(getInt(is, t), V, t);
        // Parallel over columns: a repeated id adds into the same row, so rows cannot be split.
        Parallel.forRanges(D, 64, (i0, i1) -> {
            for (int t = 0; t < T; t++) {
                long row = getInt(is, t);
                for (int i = i0; i < i1; i++) set(ts, row * D + i, get(ts, row * D + i) + get(gs, (long) t * D + i));
            }
        });
    }

    private static int checkEmbedding(Tensor table, Tensor ids, Tensor rows, String rowsName) {
        Floats.requireFloatParam("table", table);
        Floats.requireI32("ids", ids);
        Floats.requireF32(rowsName, rows);
        if (table.shape().rank() != 2) throw new IllegalArgumentException("embedding table must be [V, D], got " + table);
        Floats.requireShape(rowsName, rows, ids.numel(), table.shape().dim(1));
        return (int) table.shape().dim(0);
    }

    private static long tokenRow(int id, int vocab, int t) {
        if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " at position " + t + " is outside the vocabulary [0, " + vocab + ")");
        return id;
    }
}
