package jlora.bench.gpu;

import java.util.Arrays;
import jlora.backend.cuda.CudaApi;

/**
 * Median device time of a launch sequence: each repetition between its own pair of CUDA events on
 * the legacy default stream (the launches under test run there too), after warm-ups that keep
 * module load and first-touch costs out.
 */
final class GpuTiming {
    private GpuTiming() {}

    static double medianMs(CudaApi api, int warmup, int reps, Runnable launch) {
        for (int i = 0; i < warmup; i++) launch.run();
        api.synchronize();
        var start = api.eventCreate();
        var end = api.eventCreate();
        try {
            double[] ms = new double[reps];
            for (int i = 0; i < reps; i++) {
                api.eventRecord(start);
                launch.run();
                api.eventRecord(end);
                ms[i] = api.eventElapsedMs(start, end);
            }
            Arrays.sort(ms);
            return reps % 2 == 1 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2;
        } finally {
            api.eventDestroy(start);
            api.eventDestroy(end);
        }
    }
}
