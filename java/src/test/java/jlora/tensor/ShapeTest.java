package jlora.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ShapeTest {
    @Test
    void numelMultipliesDimensionsAndRefusesOverflow() {
        assertEquals(24, Shape.of(2, 3, 4).numel());
        assertEquals(1, Shape.of().numel());
        assertThrows(ArithmeticException.class, () -> Shape.of(1L << 40, 1L << 40).numel());
    }

    @Test
    void packedNf4RoundsUpToWholeBytes() {
        assertEquals(2, DType.NF4.byteSize(3));
        assertEquals(8, DType.BF16.byteSize(4));
    }
}
