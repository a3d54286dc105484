package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import jlora.UserError;
import jlora.backend.Workspace;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A real device OOM: a 1 TiB activation through the CUDA backend's workspace must become a
 * {@link DeviceOutOfMemory} (a UserError) naming the request, the device's free / total memory
 * and the settings to lower; the backend must stay usable afterwards (an add of two small tensors
 * then gives exactly 1 + 2 = 3 in every element).
 */
@Tag("gpu")
class CudaOutOfMemoryTest {
    @Test
    void hugeAllocationIsAUserErrorAndTheBackendSurvives() {
        GpuParity.requireGpu();
        try (CudaBackend gpu = CudaBackend.open(0); Workspace ws = gpu.workspace(); Arena arena = Arena.ofConfined()) {
            DeviceOutOfMemory e = assertThrows(DeviceOutOfMemory.class, () -> ws.allocate(DType.F32, Shape.of(1L << 38)));
            assertTrue(e instanceof UserError);
            String m = e.getMessage();
            for (String part : new String[] {"cuda:0 out of memory", "1024.00 GiB", "F32 [274877906944]", " free of ",
                    "training.micro_batch_size", "training.gradient_checkpointing"}) {
                assertTrue(m.contains(part), () -> "missing '" + part + "' in: " + m);
            }
            Tensor a = ws.allocate(DType.F32, Shape.of(1000)), b = ws.allocate(DType.F32, Shape.of(1000));
            gpu.copy(Tensor.of(DType.F32, Shape.of(1000), filled(1f), arena), a);
            gpu.copy(Tensor.of(DType.F32, Shape.of(1000), filled(2f), arena), b);
            gpu.add(a, b, a);
            Tensor back = Tensor.allocate(DType.F32, Shape.of(1000), arena);
            gpu.copy(a, back);
            for (int i = 0; i < 1000; i++) assertEquals(3f, back.getFloat(i), "element " + i);
        }
    }

    private static float[] filled(float v) {
        float[] f = new float[1000];
        java.util.Arrays.fill(f, v);
        return f;
    }
}
