package jlora.bench.gpu;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.SplittableRandom;
import jlora.backend.Dropout;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.CudaStream;
import jlora.backend.cuda.DeviceBuffer;
import jlora.backend.cuda.DeviceMatrix;
import jlora.backend.cuda.DevicePool;
import jlora.backend.cuda.Gemm;
import jlora.backend.cuda.LoraLinearKernels;
import jlora.backend.cuda.Nf4DequantKernels;
import jlora.quant.DoubleQuant;
import jlora.quant.DynamicMap;
import jlora.tensor.DType;

/**
 * The fused LoRA linear ({@link LoraLinearKernels}) against the cuBLASLt base GEMM alone on the
 * Qwen2.5-7B projections at T = 4096 tokens, r = 64, bf16 activations (x given with the adapter's
 * r spare columns, as the fused op takes it zero-copy), no dropout, no bias. The base is
 * y = x·Wᵀ forward and dx = dy·W backward (W frozen: no weight gradient); for an NF4 base both
 * sides dequantize W into the bf16 scratch before each of the two GEMMs (gradient checkpointing
 * shares one scratch between layers): the base with the production cuda/nf4_dequant.cu kernel on
 * the legacy stream (ordered with ours: it is a blocking stream), the fused op straight into the
 * folded weight's rows (cuda/lora_linear.cu). Issue 7's target: fused ≤ 1.10 × base. TFLOP/s count the
 * useful FLOPs of each side (the LoRA side adds 2·T·r·(in + out) forward and twice that plus
 * 2·T·r·in backward) and are compared with the measured 8192³ bf16 GEMM.
 */
final class LoraLinearBench implements GpuBenchmark {
    static final int T = GemmBench.T, R = 64;

    @Override
    public String name() {
        return "lora-linear";
    }

    @Override
    public void run(CudaApi api, PrintStream out) {
        DevicePool pool = new DevicePool(api, 0);
        pool.setReleaseThreshold(Long.MAX_VALUE);
        int[][] shapes = {{GemmBench.HIDDEN, GemmBench.HIDDEN}, {GemmBench.INTER, GemmBench.HIDDEN}, {GemmBench.HIDDEN, GemmBench.INTER},
            {GemmBench.KV, GemmBench.HIDDEN}};
        String[] names = {"q/o proj", "gate/up proj", "down proj", "k/v proj"};
        try (CudaStream s = CudaStream.create(api); Gemm gemm = new Gemm(api); LoraLinearKernels lora = new LoraLinearKernels(api, gemm, pool)) {
            double peak = GemmBench.peakTflops(api, gemm, s);
            out.println();
            out.printf(Locale.ROOT, "T = %d, r = %d, bf16 activations; mean of %d launches queued back to back after %d warm-ups"
                    + " (CUDA events: GPU time, host launch latency hidden as in a training step); peak = measured 8192³ bf16 GEMM"
                    + " %.1f TFLOP/s%n%n", T, R, CudaTimer.TIMED, CudaTimer.WARMUP, peak);
            out.println("| layer (out × in) | base | pass | base ms | fused ms | overhead | base TFLOP/s | fused TFLOP/s | fused vs peak |");
            out.println("|---|---|---|---:|---:|---:|---:|---:|---:|");
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < shapes.length; i++) {
                for (boolean nf4 : new boolean[] {false, true}) run(api, s, gemm, lora, pool, out, r, names[i], shapes[i][0], shapes[i][1], nf4, peak);
            }
            out.println();
            out.println("groups of modules sharing x as one op (LoraLinearKernels.Part), bf16 base, fwd+bwd, r = 64 each; base = one"
                    + " GEMM pair over the stacked W (fused QKV / gate-up), and the modules' separate base GEMM pairs:");
            out.println();
            out.println("| group (out × in) | base stacked ms | base separate ms | fused group ms | vs stacked | vs separate | fused TFLOP/s |");
            out.println("|---|---:|---:|---:|---:|---:|---:|");
            group(api, s, gemm, lora, out, r, "q+k+v", new int[] {GemmBench.HIDDEN, GemmBench.KV, GemmBench.KV}, GemmBench.HIDDEN, peak);
            group(api, s, gemm, lora, out, r, "gate+up", new int[] {GemmBench.INTER, GemmBench.INTER}, GemmBench.HIDDEN, peak);
            out.println();
            out.println(pool.stats().toString());
        }
    }

    private static void run(CudaApi api, CudaStream s, Gemm gemm, LoraLinearKernels lora, DevicePool pool, PrintStream out,
            SplittableRandom r, String name, int outF, int inF, boolean nf4, double peak) {
        Nf4DequantKernels dq = new Nf4DequantKernels(api);
        try (DeviceBuffer x = CudaTimer.randomBf16(api, (long) T * (inF + R), 1, r);
                DeviceBuffer xDense = CudaTimer.randomBf16(api, (long) T * inF, 1, r);
                DeviceBuffer w = CudaTimer.randomBf16(api, (long) outF * inF, 0.02, r);
                DeviceBuffer g = CudaTimer.randomBf16(api, (long) T * (outF + R), 1, r);
                DeviceBuffer a = CudaTimer.randomF32(api, (long) R * inF, 0.02, r);
                DeviceBuffer b = CudaTimer.randomF32(api, (long) outF * R, 0.02, r);
                DeviceBuffer dA = new DeviceBuffer(api, 4L * R * inF); DeviceBuffer dB = new DeviceBuffer(api, 4L * outF * R);
                DeviceBuffer y = new DeviceBuffer(api, 2L * T * outF); DeviceBuffer dx = new DeviceBuffer(api, 2L * T * inF);
                DeviceBuffer xa = new DeviceBuffer(api, 4L * T * R);
                DeviceBuffer scratch = new DeviceBuffer(api, 2L * outF * inF);
                LoraLinearKernels.FoldedWeight f = LoraLinearKernels.FoldedWeight.allocate(api, outF, inF, R);
                Nf4Weight q = nf4 ? Nf4Weight.random(api, (long) outF * inF, r) : null) {
            dA.fill(0);
            dB.fill(0);
            if (nf4) lora.dequantizeBase(s, q.weight, f);
            else lora.loadBase(s, DeviceMatrix.of(w, DType.BF16, outF, inF), f);
            LoraLinearKernels.Adapter ad = new LoraLinearKernels.Adapter(a, b, R, 2f);
            DeviceMatrix xm = new DeviceMatrix(x, 0, DType.BF16, T, inF, inF + R), xd = DeviceMatrix.of(xDense, DType.BF16, T, inF);
            DeviceMatrix wm = DeviceMatrix.of(nf4 ? scratch : w, DType.BF16, outF, inF);
            DeviceMatrix ym = DeviceMatrix.of(y, DType.BF16, T, outF), dxm = DeviceMatrix.of(dx, DType.BF16, T, inF);
            DeviceMatrix gm = new DeviceMatrix(g, 0, DType.BF16, T, outF, outF + R), gDense = DeviceMatrix.of(g, DType.BF16, T, outF);
            Runnable baseFwd = () -> {
                if (nf4) dq.dequantizeBf16(q.weight, scratch);
                gemm.gemm(s, xd, false, wm, true, ym, 1f, 0f);
            };
            Runnable baseBwd = () -> {
                if (nf4) dq.dequantizeBf16(q.weight, scratch);
                gemm.gemm(s, gDense, false, wm, false, dxm, 1f, 0f);
            };
            Runnable fusedFwd = () -> {
                if (nf4) lora.dequantizeBase(s, q.weight, f);
                lora.forward(s, f, ad, null, Dropout.NONE, xm, ym, xa);
            };
            Runnable fusedBwd = () -> {
                if (nf4) lora.dequantizeBase(s, q.weight, f);
                lora.backward(s, f, ad, Dropout.NONE, gm, xm, xa, dxm, dA, dB, null);
            };
            double flops = 2.0 * T * inF * outF, loraFwd = 2.0 * T * R * (inF + outF), loraBwd = 2 * loraFwd + 2.0 * T * R * inF;
            String base = nf4 ? "NF4" : "bf16";
            double bf = CudaTimer.queuedMs(api, s, baseFwd), ff = CudaTimer.queuedMs(api, s, fusedFwd);
            row(out, name, outF, inF, base, "fwd", bf, ff, flops, flops + loraFwd, peak);
            double bb = CudaTimer.queuedMs(api, s, () -> { baseFwd.run(); baseBwd.run(); });
            double fb = CudaTimer.queuedMs(api, s, () -> { fusedFwd.run(); fusedBwd.run(); });
            row(out, name, outF, inF, base, "fwd+bwd", bb, fb, 2 * flops, 2 * flops + loraFwd + loraBwd, peak);
            if (!nf4 && outF == GemmBench.INTER) {
                // F32 activations (x, y, dy, dx in fp32, as a backend that keeps fp32 activations calls it): the
                // fused op then casts x and dy to bf16 itself; the base row stays the bf16 GEMM pair.
                try (DeviceBuffer x32 = CudaTimer.randomF32(api, (long) T * inF, 1, r); DeviceBuffer g32 = CudaTimer.randomF32(api, (long) T * outF, 1, r);
                        DeviceBuffer y32 = new DeviceBuffer(api, 4L * T * outF); DeviceBuffer dx32 = new DeviceBuffer(api, 4L * T * inF)) {
                    DeviceMatrix xm32 = DeviceMatrix.of(x32, DType.F32, T, inF), ym32 = DeviceMatrix.of(y32, DType.F32, T, outF);
                    DeviceMatrix gm32 = DeviceMatrix.of(g32, DType.F32, T, outF), dxm32 = DeviceMatrix.of(dx32, DType.F32, T, inF);
                    double f32 = CudaTimer.queuedMs(api, s, () -> {
                        lora.forward(s, f, ad, null, Dropout.NONE, xm32, ym32, xa);
                        lora.backward(s, f, ad, Dropout.NONE, gm32, xm32, xa, dxm32, dA, dB, null);
                    });
                    row(out, name, outF, inF, "bf16, f32 act.", "fwd+bwd", bb, f32, 2 * flops, 2 * flops + loraFwd + loraBwd, peak);
                    Dropout drop = new Dropout(0.05f, 7);
                    double dr = CudaTimer.queuedMs(api, s, () -> {
                        lora.forward(s, f, ad, null, drop, xm, ym, xa);
                        lora.backward(s, f, ad, drop, gm, xm, xa, dxm, dA, dB, null);
                    });
                    row(out, name, outF, inF, "bf16, dropout 0.05", "fwd+bwd", bb, dr, 2 * flops, 2 * flops + loraFwd + loraBwd, peak);
                }
            }
        }
    }

    private static void group(CudaApi api, CudaStream s, Gemm gemm, LoraLinearKernels lora, PrintStream out, SplittableRandom r,
            String name, int[] outs, int inF, double peak) {
        int outSum = 0;
        for (int o : outs) outSum += o;
        int rSum = R * outs.length, total = outSum;
        java.util.List<DeviceBuffer> owned = new java.util.ArrayList<>();
        try (DeviceBuffer x = CudaTimer.randomBf16(api, (long) T * (inF + rSum), 1, r);
                DeviceBuffer w = CudaTimer.randomBf16(api, (long) outSum * inF, 0.02, r);
                DeviceBuffer g = CudaTimer.randomBf16(api, (long) T * (outSum + rSum), 1, r);
                DeviceBuffer y = new DeviceBuffer(api, 2L * T * outSum); DeviceBuffer dx = new DeviceBuffer(api, 2L * T * inF);
                DeviceBuffer xa = new DeviceBuffer(api, 4L * T * rSum);
                LoraLinearKernels.FoldedWeight f = LoraLinearKernels.FoldedWeight.allocate(api, outSum, inF, rSum)) {
            lora.loadBase(s, DeviceMatrix.of(w, DType.BF16, outSum, inF), f);
            java.util.List<LoraLinearKernels.Part> parts = new java.util.ArrayList<>();
            java.util.List<DeviceBuffer> dAs = new java.util.ArrayList<>(), dBs = new java.util.ArrayList<>();
            for (int o : outs) {
                DeviceBuffer a = CudaTimer.randomF32(api, (long) R * inF, 0.02, r), b = CudaTimer.randomF32(api, (long) o * R, 0.02, r);
                DeviceBuffer dA = new DeviceBuffer(api, 4L * R * inF), dB = new DeviceBuffer(api, 4L * o * R);
                dA.fill(0);
                dB.fill(0);
                owned.addAll(java.util.List.of(a, b, dA, dB));
                parts.add(new LoraLinearKernels.Part(o, new LoraLinearKernels.Adapter(a, b, R, 2f), Dropout.NONE));
                dAs.add(dA);
                dBs.add(dB);
            }
            DeviceMatrix xd = new DeviceMatrix(x, 0, DType.BF16, T, inF, inF + rSum), xm = xd;
            DeviceMatrix wm = DeviceMatrix.of(w, DType.BF16, outSum, inF), ym = DeviceMatrix.of(y, DType.BF16, T, outSum);
            DeviceMatrix gm = new DeviceMatrix(g, 0, DType.BF16, T, outSum, outSum + rSum), dxm = DeviceMatrix.of(dx, DType.BF16, T, inF);
            double stacked = CudaTimer.queuedMs(api, s, () -> {
                gemm.gemm(s, xd, false, wm, true, ym, 1f, 0f);
                gemm.gemm(s, gm, false, wm, false, dxm, 1f, 0f);
            });
            double separate = CudaTimer.queuedMs(api, s, () -> {
                int o0 = 0;
                for (int o : outs) {
                    gemm.gemm(s, xd, false, wm.rows(o0, o), true, ym.columns(o0, o), 1f, 0f);
                    gemm.gemm(s, gm.columns(o0, o), false, wm.rows(o0, o), false, dxm, 1f, o0 == 0 ? 0f : 1f);
                    o0 += o;
                }
            });
            double fused = CudaTimer.queuedMs(api, s, () -> {
                lora.forward(s, f, parts, null, xm, ym, xa);
                lora.backward(s, f, parts, gm, xm, xa, dxm, dAs, dBs, null);
            });
            double flops = 4.0 * T * inF * total + 3 * 2.0 * T * rSum * (inF + total);
            out.printf(Locale.ROOT, "| %s (%d × %d) | %.3f | %.3f | %.3f | %+.1f %% | %+.1f %% | %.1f |%n", name, outSum, inF, stacked, separate,
                    fused, 100 * (fused / stacked - 1), 100 * (fused / separate - 1), flops / (fused * 1e9));
        } finally {
            for (DeviceBuffer b : owned) b.close();
        }
    }

    private static void row(PrintStream out, String name, int outF, int inF, String base, String pass, double baseMs, double fusedMs,
            double baseFlops, double fusedFlops, double peak) {
        double bt = baseFlops / (baseMs * 1e9), ft = fusedFlops / (fusedMs * 1e9);
        out.printf(Locale.ROOT, "| %s (%d × %d) | %s | %s | %.3f | %.3f | %+.1f %% | %.1f | %.1f | %.2f |%n", name, outF, inF, base, pass,
                baseMs, fusedMs, 100 * (fusedMs / baseMs - 1), bt, ft, ft / peak);
    }

    /** A random double-quantized NF4 weight on the device (blocksize 64, nested 256, bitsandbytes' signed 8-bit map). */
    private record Nf4Weight(Nf4DequantKernels.Weight weight) implements AutoCloseable {
        static Nf4Weight random(CudaApi api, long n, SplittableRandom r) {
            long blocks = n / 64, nested = Math.ceilDiv(blocks, (long) DoubleQuant.NESTED_BLOCKSIZE);
            DeviceBuffer packed = bytes(api, n / 2, r), codes = bytes(api, blocks, r);
            DeviceBuffer nestedAbsmax = CudaTimer.randomF32(api, nested, 0.02, r);
            DeviceBuffer code = floats(api, DynamicMap.signed());
            return new Nf4Weight(new Nf4DequantKernels.Weight(packed, codes, nestedAbsmax, code, 0.01f, DoubleQuant.NESTED_BLOCKSIZE, n, 64));
        }

        private static DeviceBuffer bytes(CudaApi api, long n, SplittableRandom r) {
            DeviceBuffer b = new DeviceBuffer(api, n);
            long chunk = Math.min(n, 1L << 24);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(chunk, 16);
                for (long i = 0; i + 8 <= chunk; i += 8) host.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
                for (long off = 0; off < n; off += chunk) {
                    long len = Math.min(chunk, n - off);
                    api.copyToDevice(b.at(off, len), host, len);
                }
            }
            return b;
        }

        private static DeviceBuffer floats(CudaApi api, float[] v) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(4L * v.length, 16);
                MemorySegment.copy(v, 0, host, ValueLayout.JAVA_FLOAT, 0, v.length);
                DeviceBuffer b = new DeviceBuffer(api, 4L * v.length);
                b.copyFrom(host);
                return b;
            }
        }

        @Override
        public void close() {
            weight.close();
        }
    }
}
