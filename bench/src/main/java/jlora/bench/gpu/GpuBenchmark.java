package jlora.bench.gpu;

import java.io.PrintStream;
import jlora.backend.cuda.CudaApi;

/** One GPU benchmark driver: prints Markdown (a heading, a table, notes) to {@code out}. */
interface GpuBenchmark {
    String name();

    void run(CudaApi api, PrintStream out);
}
