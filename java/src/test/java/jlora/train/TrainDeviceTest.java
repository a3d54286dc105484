package jlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jlora.UserError;
import jlora.backend.cuda.CudaDevices;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * training.device on a machine without a usable GPU (CI): cuda is a UserError that says why
 * (the device query's own text) and what to pass instead; auto falls back to the CPU, whose
 * device reports no device-memory metrics. On a GPU machine these cases do not apply (skipped).
 */
class TrainDeviceTest {
    private static CudaDevices.Report noGpu() {
        CudaDevices.Report r = CudaDevices.query();
        Assumptions.assumeTrue(r.status() != CudaDevices.Status.READY, "a GPU answers here; the no-GPU paths do not apply");
        return r;
    }

    @Test
    void cudaWithoutAGpuIsAUserErrorNamingTheReason() {
        CudaDevices.Report r = noGpu();
        UserError e = assertThrows(UserError.class, () -> TrainDevice.open(TrainingSection.Device.CUDA));
        assertTrue(e.getMessage().startsWith("training.device cuda: ") && e.getMessage().contains(r.describe())
                && e.getMessage().contains("--device cpu"), e.getMessage());
    }

    @Test
    void autoWithoutAGpuTrainsOnTheCpu() {
        noGpu();
        try (TrainDevice d = TrainDevice.open(TrainingSection.Device.AUTO)) {
            assertEquals("cpu", d.name());
            assertTrue(d.memoryMetrics().isEmpty());
        }
    }
}
