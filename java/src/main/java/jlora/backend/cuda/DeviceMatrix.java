package jlora.backend.cuda;

import java.lang.foreign.MemorySegment;
import jlora.tensor.DType;

/**
 * A row-major matrix view on a device buffer: {@code rows × cols} elements of {@code type} (F32 or
 * BF16), row r starting {@code offset + r · ld} elements into the buffer ({@code ld ≥ cols}; a
 * larger ld views columns of a wider matrix, such as the X part of [X | X·Aᵀ]).
 */
public record DeviceMatrix(DeviceBuffer buffer, long offset, DType type, int rows, int cols, long ld) {
    public DeviceMatrix {
        ActivationType.code(type);
        if (rows < 0 || cols < 0 || offset < 0) throw new IllegalArgumentException("negative rows, cols or offset");
        if (ld < Math.max(1, cols)) throw new IllegalArgumentException("ld " + ld + " < cols " + cols);
        if (rows > 0 && cols > 0) buffer.at(bytes(offset), bytes(elementSpan(rows, cols, ld))); // range check
    }

    /** The whole buffer from element 0 as a dense {@code rows × cols} matrix. */
    public static DeviceMatrix of(DeviceBuffer buffer, DType type, int rows, int cols) {
        return new DeviceMatrix(buffer, 0, type, rows, cols, cols);
    }

    /** Columns {@code [col0, col0 + n)} of this matrix (same rows, same ld). */
    public DeviceMatrix columns(int col0, int n) {
        if (col0 < 0 || n < 0 || col0 + n > cols) throw new IndexOutOfBoundsException("columns [" + col0 + ", +" + n + ") of " + cols);
        return new DeviceMatrix(buffer, offset + col0, type, rows, n, ld);
    }

    /** Rows {@code [row0, row0 + n)} of this matrix. */
    public DeviceMatrix rows(int row0, int n) {
        if (row0 < 0 || n < 0 || row0 + n > rows) throw new IndexOutOfBoundsException("rows [" + row0 + ", +" + n + ") of " + rows);
        return new DeviceMatrix(buffer, offset + (long) row0 * ld, type, n, cols, ld);
    }

    int elementBytes() {
        return type == DType.F32 ? 4 : 2;
    }

    long bytes(long elements) {
        return Math.multiplyExact(elements, (long) elementBytes());
    }

    /** The device address of element (0, 0), after checking that the whole view fits. */
    MemorySegment pointer() {
        return buffer.at(bytes(offset), rows == 0 || cols == 0 ? 0 : bytes(elementSpan(rows, cols, ld)));
    }

    private static long elementSpan(int rows, int cols, long ld) {
        return Math.addExact(Math.multiplyExact((long) rows - 1, ld), cols);
    }
}
