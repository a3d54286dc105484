package jlora.quant;

/**
 * The ggml tensor types jlora writes into GGUF files, with ggml's enum ids (ggml.h
 * {@code enum ggml_type}), block sizes and bytes per block (ggml-common.h {@code block_*}).
 * A row of {@code n} elements occupies {@code n / blockSize * blockBytes} bytes and {@code n}
 * must be a multiple of the block size.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    /** block_q5_0: f16 d, 4 bytes of fifth bits, 16 bytes of nibbles; llama.cpp's fallback for Q4_K. */
    Q5_0(6, 32, 22),
    /** block_q8_0: f16 d, 32 x int8. */
    Q8_0(8, 32, 34),
    /** block_q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles. */
    Q4_K(12, 256, 144),
    /** block_q6_K: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, f16 d. */
    Q6_K(14, 256, 210),
    BF16(30, 1, 2);

    public final int id;
    public final int blockSize;
    public final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes of {@code n} elements; {@code n} must be a whole number of blocks. */
    public long byteSize(long n) {
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(this + " needs a multiple of " + blockSize + " elements, got " + n);
        }
        return n / blockSize * blockBytes;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }
}
