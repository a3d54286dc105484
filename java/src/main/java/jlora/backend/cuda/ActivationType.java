package jlora.backend.cuda;

import jlora.tensor.DType;

/** The activation element types the kernels take (JL_DTYPE_* in native/jlora_cuda.h). */
final class ActivationType {
    private ActivationType() {}

    static int code(DType t) {
        return switch (t) {
            case F32 -> 0;
            case BF16 -> 1;
            default -> throw new IllegalArgumentException("kernel activations are F32 or BF16, not " + t);
        };
    }

    /** Bytes of {@code n} elements of {@code t}, overflow-checked. */
    static long bytes(DType t, long n) {
        code(t);
        if (n < 0) throw new IllegalArgumentException("element count " + n);
        return Math.multiplyExact(n, t == DType.F32 ? 4L : 2L);
    }
}
