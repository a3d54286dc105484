package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * native/adamw8bit.cpp's argument checks, which return before any CUDA call and so run wherever
 * the library loads (no GPU needed). Oracle: the C ABI's contract in native/jlora_cuda.h — a bad
 * argument is JL_ERR_ARGUMENT (-1) with a message naming it, an empty step touches no device, and
 * the paged mode's device footprint is two chunks of codes plus their absmax.
 */
class AdamW8bitArgumentsTest {
    private static final MemorySegment NULL = MemorySegment.NULL;
    private CudaApi api;

    @BeforeEach
    void requireLibrary() {
        assumeTrue(NativeLibrary.load() instanceof NativeLibrary.Loaded, () -> "no native library: " + CudaDevices.describe());
        api = CudaApi.require();
    }

    private void assertArgumentError(String function, String text, CudaApi.Downcall<Integer> call) {
        CudaException e = assertThrows(CudaException.class, () -> api.run(function, call));
        assertEquals(-1, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
    }

    @Test
    void pagedChunksAreWholeQuantizationBlocks() {
        MethodHandle create = api.bindStatus("jl_adamw8bit_paged_create", JAVA_LONG, ADDRESS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            assertArgumentError("jl_adamw8bit_paged_create", "multiple of 256", () -> (int) create.invokeExact(300L, out));
            assertArgumentError("jl_adamw8bit_paged_create", "multiple of 256", () -> (int) create.invokeExact(0L, out));
        }
        MethodHandle bytes = api.bind("jl_adamw8bit_paged_device_bytes", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        // two staging buffers, each: q1 + q2 (1 byte per element) + a1 + a2 (4 bytes per 256 elements)
        assertEquals(2L * (2 * 4096 + 8 * 16), (long) CudaApi.call(() -> (long) bytes.invokeExact(4096L)));
    }

    @Test
    void stepsRefuseNullPointersAndTakeEmptyRanges() {
        MethodHandle step = api.bindStatus("jl_adamw8bit_step", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_LONG, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS);
        assertArgumentError("jl_adamw8bit_step", "null pointer", () -> (int) step.invokeExact(NULL, NULL, NULL, NULL, NULL,
                NULL, 10L, 0.9f, 0.999f, 1e-8f, 1e-3f, 0f, 1f, -1e-3f, NULL, NULL, NULL, NULL));
        api.run("jl_adamw8bit_step", () -> (int) step.invokeExact(NULL, NULL, NULL, NULL, NULL, NULL, 0L, 0.9f, 0.999f,
                1e-8f, 1e-3f, 0f, 1f, -1e-3f, NULL, NULL, NULL, NULL));
        MethodHandle paged = api.bindStatus("jl_adamw8bit_paged_step", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT,
                JAVA_FLOAT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        assertArgumentError("jl_adamw8bit_paged_step", "null handle", () -> (int) paged.invokeExact(NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, 10L, 0.9f, 0.999f, 1e-8f, 1e-3f, 0f, 1f, -1e-3f, NULL, NULL, NULL, NULL));
        MethodHandle link = api.bindStatus("jl_host_link_copy_ms", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT,
                JAVA_INT, ADDRESS);
        assertArgumentError("jl_host_link_copy_ms", "bad arguments",
                () -> (int) link.invokeExact(NULL, NULL, NULL, NULL, 16L, 0, 3, NULL));
    }
}
