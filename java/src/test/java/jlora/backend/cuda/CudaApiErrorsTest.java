package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The status → exception plumbing of {@link CudaApi}, which needs the library but no GPU: a
 * build machine with nvcc runs it, CI without nvcc skips it. The oracle is the C ABI's
 * contract (native/jlora_cuda.h): JL_ERR_ARGUMENT is -1, CUDA failures return the positive
 * cudaError_t, and jl_last_error() names the failing call.
 */
class CudaApiErrorsTest {
    private static CudaApi api() {
        assumeTrue(NativeLibrary.load() instanceof NativeLibrary.Loaded, () -> "no native library: "
                + CudaDevices.describe());
        return CudaApi.require();
    }

    @Test
    void argumentErrorCarriesCodeAndNativeText() {
        CudaApi api = api();
        CudaException e = assertThrows(CudaException.class, () -> api.malloc(-1));
        assertEquals(-1, e.status(), e.getMessage());
        assertEquals("jl_malloc", e.function());
        assertTrue(e.getMessage().contains("invalid argument") && e.getMessage().contains("negative size"),
                e.getMessage());
    }

    @Test
    void heapSegmentsAreRefusedBeforeTheDowncall() {
        CudaApi api = api();
        MemorySegment heap = MemorySegment.ofArray(new float[4]);
        assertThrows(IllegalArgumentException.class, () -> api.copyToDevice(MemorySegment.NULL, heap, 16));
    }

    @Test
    void withoutGpuTheCudaErrorNamesTheCall() {
        CudaApi api = api();
        assumeTrue(CudaDevices.query().status() == CudaDevices.Status.UNAVAILABLE, "a GPU answered here");
        CudaException e = assertThrows(CudaException.class, api::deviceCount);
        assertTrue(e.status() > 0 && e.getMessage().contains("cudaGetDeviceCount") && e.getMessage().contains("cudaError"),
                e.getMessage());
    }
}
