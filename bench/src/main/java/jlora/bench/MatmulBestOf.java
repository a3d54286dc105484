package jlora.bench;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import jlora.backend.DenseWeight;
import jlora.backend.LinearWeight;
import jlora.backend.cpu.CpuBackend;
import jlora.nn.Nf4Weight;
import jlora.quant.Nf4;
import jlora.quant.Nf4Tensor;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Best-of-N GFLOP/s of the CPU linear forward (x·Wᵀ) and input gradient (dy·W), for machines
 * shared with other work where JMH's averages swing by ±100 %: the best run is the one least
 * disturbed. Args: tokens in out F32|BF16|NF4[,...] [repeats]; several weight kinds run one after
 * the other in the same JVM on the same values (NF4: the bf16 weight quantized as QLoRA does, blocksize
 * 64, double-quant, multiplied through {@link Nf4Weight}). Pin with taskset for a one-core figure.
 * The peer is bench/peers/numpy_sgemm.py (OpenBLAS) on the same shape.
 */
public final class MatmulBestOf {
    public static void main(String[] args) {
        int t = Integer.parseInt(args[0]), in = Integer.parseInt(args[1]), out = Integer.parseInt(args[2]);
        String[] kinds = args[3].split(",");
        int repeats = args.length > 4 ? Integer.parseInt(args[4]) : 15;
        for (String kind : kinds) run(t, in, out, kind, repeats);
    }

    private static void run(int t, int in, int out, String kind, int repeats) {
        boolean nf4 = kind.equals("NF4");
        DType wType = nf4 ? DType.BF16 : DType.valueOf(kind);
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom rnd = new SplittableRandom(42);
            Tensor x = Tensor.allocate(DType.F32, Shape.of(t, in), arena);
            Tensor w = Tensor.allocate(wType, Shape.of(out, in), arena);
            for (long i = 0; i < x.numel(); i++) x.setFloat(i, (float) (rnd.nextDouble() - 0.5));
            for (long i = 0; i < w.numel(); i++) w.setFloat(i, (float) (rnd.nextDouble() - 0.5));
            Tensor y = Tensor.allocate(DType.F32, Shape.of(t, out), arena), dx = Tensor.allocate(DType.F32, Shape.of(t, in), arena);
            var cpu = new CpuBackend();
            LinearWeight weight = nf4 ? new Nf4Weight(Nf4Tensor.quantize(w, Nf4.DEFAULT_BLOCKSIZE, true, arena)) : new DenseWeight(w);
            double flops = 2.0 * t * in * out, bestNt = 0, bestNn = 0;
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                cpu.linear(x, weight, null, y);
                long t1 = System.nanoTime();
                cpu.linearBackward(y, weight, dx, null);
                long t2 = System.nanoTime();
                bestNt = Math.max(bestNt, flops / (t1 - t0));
                bestNn = Math.max(bestNn, flops / (t2 - t1));
            }
            System.out.printf("jlora %s %dx%dx%d threads=%d load=%.1f best x·Wᵀ %.1f GFLOP/s  dy·W %.1f GFLOP/s%n",
                    kind, t, in, out, Runtime.getRuntime().availableProcessors(),
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), bestNt, bestNn);
        }
    }
}
