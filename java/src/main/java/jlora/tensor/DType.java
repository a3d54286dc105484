package jlora.tensor;

import java.util.Locale;
import java.util.Optional;

/**
 * Element types of tensors. {@code bits} is the storage width of one element; NF4 packs two
 * 4-bit code-book indices per byte (bitsandbytes order: element 2i in the high nibble).
 * The names of the non-packed types are the dtype strings of the safetensors format.
 */
public enum DType {
    F64(64), F32(32), F16(16), BF16(16),
    I64(64), I32(32), I16(16), I8(8), U8(8), BOOL(8),
    F8_E4M3(8), F8_E5M2(8),
    /** 4-bit NormalFloat (QLoRA), two per byte; never appears in a safetensors header. */
    NF4(4);

    public final int bits;

    DType(int bits) {
        this.bits = bits;
    }

    public boolean isFloatingPoint() {
        return switch (this) {
            case F64, F32, F16, BF16, F8_E4M3, F8_E5M2 -> true;
            default -> false;
        };
    }

    /** Bytes that {@code count} elements occupy; packed types round up to whole bytes. */
    public long byteSize(long count) {
        if (count < 0) throw new IllegalArgumentException("negative element count " + count);
        return Math.ceilDiv(Math.multiplyExact(count, (long) bits), 8L);
    }

    /** The dtype a safetensors header names, or empty if this engine does not know it. */
    public static Optional<DType> fromSafetensors(String name) {
        if (name == null) return Optional.empty();
        String n = name.toUpperCase(Locale.ROOT);
        if (n.equals("NF4")) return Optional.empty();
        for (DType t : values()) if (t.name().equals(n)) return Optional.of(t);
        return Optional.empty();
    }
}
