package jlora.train;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Little-endian element layouts for state and parameter segments (safetensors byte order). */
final class Layouts {
    private Layouts() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
}
