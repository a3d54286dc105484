package jlora.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * A device tensor on a machine without a GPU: only an address (never dereferenced here), so
 * every host accessor must throw an IllegalStateException naming the device rather than read
 * unmapped memory; views and reshapes keep the device and move the address by whole elements.
 */
class DeviceTensorTest {
    private static final long ADDRESS = 0x7f00_0000_1000L; // never mapped by this test: any read would crash

    @Test
    void hostAccessFailsLoudly() {
        Tensor t = Tensor.onDevice("cuda:0", DType.F32, Shape.of(4, 8), ADDRESS);
        assertFalse(t.isHost());
        assertEquals("cuda:0", t.device());
        assertEquals(128, t.byteSize());
        for (Runnable access : new Runnable[] {t::data, () -> t.getFloat(0), () -> t.setFloat(3, 1f), () -> t.getLong(0),
                t::toFloatArray}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, access::run);
            assertTrue(e.getMessage().contains("cuda:0") && e.getMessage().contains("host code cannot"), e.getMessage());
        }
    }

    @Test
    void viewsAndReshapesStayOnTheDevice() {
        Tensor t = Tensor.onDevice("cuda:1", DType.BF16, Shape.of(4, 8), ADDRESS);
        Tensor row = t.view(2 * 8, Shape.of(1, 8));
        assertEquals(ADDRESS + 2 * 8 * 2, row.deviceAddress());
        assertEquals("cuda:1", row.device());
        Tensor flat = t.reshape(Shape.of(32));
        assertEquals(ADDRESS, flat.deviceAddress());
        assertThrows(IllegalStateException.class, flat::data);
        assertThrows(IndexOutOfBoundsException.class, () -> t.view(30, Shape.of(3)));
    }

    @Test
    void hostTensorsHaveNoDeviceAddress() {
        try (Arena a = Arena.ofConfined()) {
            Tensor h = Tensor.of(DType.F32, Shape.of(3), new float[] {1, 2, 3}, a);
            assertTrue(h.isHost());
            assertEquals("cpu", h.device());
            assertThrows(IllegalStateException.class, h::deviceAddress);
            assertEquals(3f, h.view(2, Shape.of(1)).getFloat(0));
        }
    }
}
