package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemoryLayout.PathElement;
import org.junit.jupiter.api.Test;

/**
 * The Java mirror of jl_device_info must have the offsets that native/device.cpp asserts
 * at compile time (static_assert: size 304, major at 256, total_bytes at 272,
 * shared_per_block_optin at 296), so a struct edit on one side fails a build or this test.
 */
class CudaApiLayoutTest {
    @Test
    void deviceInfoLayoutMatchesTheCStruct() {
        assertEquals(304, CudaApi.DEVICE_INFO.byteSize());
        assertEquals(256, offset("major"));
        assertEquals(272, offset("total_bytes"));
        assertEquals(296, offset("shared_per_block_optin"));
    }

    private static long offset(String field) {
        return CudaApi.DEVICE_INFO.byteOffset(PathElement.groupElement(field));
    }
}
