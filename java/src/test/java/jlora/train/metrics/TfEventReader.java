package jlora.train.metrics;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reader for TFRecord files of protobuf messages, written for the tests independently of the
 * writer: its own table-driven CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, as in
 * RFC 3720 appendix B.4) instead of java.util.zip.CRC32C, the mask written as a rotate, and a
 * generic protobuf decoder that knows only wire types, not our messages.
 */
final class TfEventReader {
    private TfEventReader() {}

    static final class CorruptRecord extends RuntimeException {
        CorruptRecord(String message) {
            super(message);
        }
    }

    private static final int[] TABLE = new int[256];

    static {
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
            TABLE[n] = c;
        }
    }

    static int crc32c(byte[] b, int off, int len) {
        int c = ~0;
        for (int i = off; i < off + len; i++) c = TABLE[(c ^ b[i]) & 0xFF] ^ (c >>> 8);
        return ~c;
    }

    /** TensorFlow's masking: rotate right by 15 bits, add a constant. */
    static int mask(int crc) {
        return Integer.rotateRight(crc, 15) + 0xa282ead8;
    }

    /** The data of every record, in order; throws CorruptRecord on a CRC mismatch or a cut record. */
    static List<byte[]> records(byte[] file) {
        List<byte[]> out = new ArrayList<>();
        int pos = 0;
        while (pos < file.length) {
            if (file.length - pos < 12) throw new CorruptRecord("cut header at byte " + pos);
            long length = le(file, pos, 8);
            int lengthCrc = (int) le(file, pos + 8, 4);
            if (lengthCrc != mask(crc32c(file, pos, 8))) throw new CorruptRecord("length CRC mismatch at byte " + pos);
            int start = pos + 12;
            if (length < 0 || start + length + 4 > file.length) throw new CorruptRecord("cut record at byte " + pos);
            int dataCrc = (int) le(file, start + (int) length, 4);
            if (dataCrc != mask(crc32c(file, start, (int) length))) throw new CorruptRecord("data CRC mismatch at byte " + start);
            byte[] data = new byte[(int) length];
            System.arraycopy(file, start, data, 0, data.length);
            out.add(data);
            pos = start + (int) length + 4;
        }
        return out;
    }

    private static long le(byte[] b, int off, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | (b[off + i] & 0xFF);
        return v;
    }

    /**
     * Generic protobuf decode: field number -> values in order. Varints and fixed64 become Long,
     * fixed32 Integer, length-delimited byte[].
     */
    static Map<Integer, List<Object>> fields(byte[] msg) {
        Map<Integer, List<Object>> fields = new LinkedHashMap<>();
        int[] pos = {0};
        while (pos[0] < msg.length) {
            long key = varint(msg, pos);
            int field = (int) (key >>> 3);
            Object value = switch ((int) (key & 7)) {
                case 0 -> varint(msg, pos);
                case 1 -> { long v = le(msg, pos[0], 8); pos[0] += 8; yield v; }
                case 5 -> { int v = (int) le(msg, pos[0], 4); pos[0] += 4; yield v; }
                case 2 -> {
                    int len = (int) varint(msg, pos);
                    byte[] v = new byte[len];
                    System.arraycopy(msg, pos[0], v, 0, len);
                    pos[0] += len;
                    yield v;
                }
                default -> throw new IllegalStateException("wire type " + (key & 7) + " at byte " + pos[0]);
            };
            fields.computeIfAbsent(field, f -> new ArrayList<>()).add(value);
        }
        return fields;
    }

    static long varint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b[pos[0]++];
            v |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) return v;
        }
    }

    static Object one(Map<Integer, List<Object>> fields, int field) {
        List<Object> v = fields.get(field);
        if (v == null || v.size() != 1) throw new AssertionError("field " + field + " expected once, got " + v + " in " + fields.keySet());
        return v.get(0);
    }

    static String utf8(Object bytes) {
        return new String((byte[]) bytes, StandardCharsets.UTF_8);
    }
}
