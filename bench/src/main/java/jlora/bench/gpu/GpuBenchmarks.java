package jlora.bench.gpu;

import java.io.PrintStream;
import java.util.List;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.CudaDevices;

/**
 * Runs every GPU benchmark driver, timed with CUDA events, and prints one Markdown section
 * per driver. tools/gpu-run.sh calls this on the device machine. Exits 2 without a GPU.
 */
public final class GpuBenchmarks {
    private static final List<GpuBenchmark> ALL = List.of(new CastBandwidth(), new Nf4DequantBandwidth(), new AdamW8bitBench(),
            new FlashAttentionBench(), new GemmBench(), new LoraLinearBench(), new LmHeadCrossEntropyBench(),
            new TrainStepBench());

    private GpuBenchmarks() {}

    public static void main(String[] args) {
        PrintStream out = System.out;
        CudaDevices.Report report = CudaDevices.query();
        if (report.status() != CudaDevices.Status.READY) {
            System.err.println("no GPU benchmarks: " + report.describe());
            System.exit(2);
        }
        out.println("```");
        out.println(report.describe());
        out.println("```");
        CudaApi api = CudaApi.require();
        int failed = 0;
        for (GpuBenchmark b : ALL) {
            if (args.length > 0 && !List.of(args).contains(b.name())) continue;
            out.println();
            out.println("## " + b.name());
            try {
                b.run(api, out);
            } catch (RuntimeException e) {
                failed++;
                out.println("FAILED: " + e);
                e.printStackTrace();
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
