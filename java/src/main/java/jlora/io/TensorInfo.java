package jlora.io;

import jlora.tensor.DType;
import jlora.tensor.Shape;

/**
 * One entry of a safetensors header. {@code begin} and {@code end} are the header's
 * {@code data_offsets}: byte offsets relative to the start of the data area (the byte after
 * the header), end exclusive.
 */
public record TensorInfo(String name, DType dtype, Shape shape, long begin, long end) {
    public long byteSize() {
        return end - begin;
    }
}
