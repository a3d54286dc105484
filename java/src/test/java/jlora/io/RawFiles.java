package jlora.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds safetensors bytes by hand, straight from the format spec, so tests do not trust the writer. */
final class RawFiles {
    private RawFiles() {}

    /** u64 LE length of {@code header}, the header bytes exactly as given, then {@code data}. */
    static byte[] file(String header, byte[] data) {
        return file(header.getBytes(StandardCharsets.UTF_8), data);
    }

    static byte[] file(byte[] header, byte[] data) {
        return withLength(header.length, header, data);
    }

    /** Like {@link #file} but with an arbitrary (possibly lying) length field. */
    static byte[] withLength(long length, byte[] header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(length).array());
        out.writeBytes(header);
        out.writeBytes(data);
        return out.toByteArray();
    }

    static String hexHead(byte[] bytes, int max) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(max, bytes.length); i++) b.append(String.format("%02x", bytes[i]));
        if (bytes.length > max) b.append("...(").append(bytes.length).append(" bytes)");
        return b.toString();
    }
}
