package jlora.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jlora.quant.GgmlType;

/**
 * Writes a GGUF v3 file (ggml's docs/gguf.md; gguf-py's gguf_writer.py is the reference writer):
 *
 * <pre>
 *   u32 magic "GGUF" | u32 version 3 | u64 tensor count | u64 metadata count
 *   metadata: string key, u32 value type, value   (string = u64 byte length + UTF-8, no NUL;
 *             array = u32 element type, u64 count, elements)
 *   tensor infos: string name, u32 n_dims, u64 dims[n_dims] (ggml order: ne[0] is the
 *             innermost, i.e. the row-major shape reversed), u32 ggml type, u64 offset
 *   zero padding to general.alignment, then the tensors, each starting at a multiple of it
 * </pre>
 *
 * Metadata is held in memory (a vocabulary is a few MB); tensor bytes are streamed by each
 * tensor's {@link TensorData} straight into the file, so no copy of the model is built. The file
 * is written through {@link AtomicFiles}: a failure leaves nothing behind.
 */
public final class GgufWriter {
    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    public static final int VERSION = 3;
    public static final int ALIGNMENT = 32;

    /** GGUF metadata value types (gguf.md {@code gguf_metadata_value_type}). */
    public enum ValueType {
        UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64
    }

    /** Writes exactly the tensor's byte size to {@code out} at its current position. */
    @FunctionalInterface
    public interface TensorData {
        void writeTo(FileChannel out) throws IOException;
    }

    /** A tensor to write: {@code shape} row-major as in PyTorch; the file stores it reversed. */
    public record TensorEntry(String name, long[] shape, GgmlType type, TensorData data) {
        public long byteSize() {
            long n = 1;
            for (long d : shape) n *= d;
            return type.byteSize(n);
        }
    }

    private record Kv(ValueType type, Object value, ValueType elementType) {}

    private final Map<String, Kv> metadata = new LinkedHashMap<>();
    private final List<TensorEntry> tensors = new ArrayList<>();

    public GgufWriter() {
        putU32("general.alignment", ALIGNMENT);
    }

    public GgufWriter putString(String key, String v) { return put(key, ValueType.STRING, v, null); }
    public GgufWriter putU32(String key, long v) { return put(key, ValueType.UINT32, v, null); }
    public GgufWriter putI32(String key, int v) { return put(key, ValueType.INT32, (long) v, null); }
    public GgufWriter putU64(String key, long v) { return put(key, ValueType.UINT64, v, null); }
    public GgufWriter putF32(String key, double v) { return put(key, ValueType.FLOAT32, v, null); }
    public GgufWriter putF64(String key, double v) { return put(key, ValueType.FLOAT64, v, null); }
    public GgufWriter putBool(String key, boolean v) { return put(key, ValueType.BOOL, v, null); }
    public GgufWriter putStrings(String key, List<String> v) { return put(key, ValueType.ARRAY, List.copyOf(v), ValueType.STRING); }
    public GgufWriter putI32s(String key, int[] v) { return put(key, ValueType.ARRAY, v.clone(), ValueType.INT32); }
    public GgufWriter putF32s(String key, float[] v) { return put(key, ValueType.ARRAY, v.clone(), ValueType.FLOAT32); }

    private GgufWriter put(String key, ValueType type, Object value, ValueType elementType) {
        if (key.equals("general.alignment") && metadata.containsKey(key)) {
            throw new IllegalArgumentException("general.alignment is fixed at " + ALIGNMENT);
        }
        if (metadata.containsKey(key)) throw new IllegalArgumentException("duplicate GGUF key " + key);
        metadata.put(key, new Kv(type, value, elementType));
        return this;
    }

    public GgufWriter addTensor(String name, long[] shape, GgmlType type, TensorData data) {
        for (TensorEntry t : tensors) {
            if (t.name().equals(name)) throw new IllegalArgumentException("duplicate GGUF tensor " + name);
        }
        long[] s = shape.clone();
        if (s.length == 0 || s.length > 4) throw new IllegalArgumentException(name + ": GGUF tensors have 1..4 dims");
        if (s[s.length - 1] % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": rows of " + s[s.length - 1] + " are not whole " + type
                    + " blocks of " + type.blockSize);
        }
        tensors.add(new TensorEntry(name, s, type, data));
        return this;
    }

    public List<TensorEntry> tensors() {
        return List.copyOf(tensors);
    }

    public void write(Path target) {
        AtomicFiles.write(target, this::writeTo);
    }

    private void writeTo(FileChannel out) throws IOException {
        Bytes head = new Bytes();
        head.u32(MAGIC).u32(VERSION).u64(tensors.size()).u64(metadata.size());
        for (Map.Entry<String, Kv> e : metadata.entrySet()) {
            head.string(e.getKey()).u32(e.getValue().type().ordinal());
            value(head, e.getValue());
        }
        long offset = 0;
        long[] offsets = new long[tensors.size()];
        for (int i = 0; i < tensors.size(); i++) {
            TensorEntry t = tensors.get(i);
            head.string(t.name()).u32(t.shape().length);
            for (int d = t.shape().length - 1; d >= 0; d--) head.u64(t.shape()[d]);
            head.u32(t.type().id).u64(offset);
            offsets[i] = offset;
            offset = align(offset + t.byteSize());
        }
        head.pad(align(head.size()) - head.size());
        AtomicFiles.writeAll(out, head.buffer());
        long dataStart = out.position();
        for (int i = 0; i < tensors.size(); i++) {
            TensorEntry t = tensors.get(i);
            long at = dataStart + offsets[i];
            writeZeros(out, at - out.position());
            t.data().writeTo(out);
            long wrote = out.position() - at;
            if (wrote != t.byteSize()) {
                throw new IllegalStateException(t.name() + ": wrote " + wrote + " bytes, expected " + t.byteSize());
            }
        }
        writeZeros(out, align(out.position() - dataStart) - (out.position() - dataStart));
    }

    private static void value(Bytes b, Kv kv) {
        switch (kv.type()) {
            case STRING -> b.string((String) kv.value());
            case UINT32, INT32 -> b.u32((int) (long) (Long) kv.value());
            case UINT64 -> b.u64((Long) kv.value());
            case FLOAT32 -> b.f32((float) (double) (Double) kv.value());
            case FLOAT64 -> b.f64((Double) kv.value());
            case BOOL -> b.u8((Boolean) kv.value() ? 1 : 0);
            case ARRAY -> {
                b.u32(kv.elementType().ordinal());
                switch (kv.elementType()) {
                    case STRING -> {
                        List<?> l = (List<?>) kv.value();
                        b.u64(l.size());
                        for (Object s : l) b.string((String) s);
                    }
                    case INT32 -> {
                        int[] a = (int[]) kv.value();
                        b.u64(a.length);
                        for (int v : a) b.u32(v);
                    }
                    case FLOAT32 -> {
                        float[] a = (float[]) kv.value();
                        b.u64(a.length);
                        for (float v : a) b.f32(v);
                    }
                    default -> throw new IllegalStateException("array of " + kv.elementType());
                }
            }
            default -> throw new IllegalStateException("value type " + kv.type());
        }
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void writeZeros(FileChannel out, long n) throws IOException {
        if (n > 0) AtomicFiles.writeAll(out, ByteBuffer.allocate((int) n));
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class Bytes {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private Bytes room(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n))
                        .order(ByteOrder.LITTLE_ENDIAN);
                bigger.put(buf.flip());
                buf = bigger;
            }
            return this;
        }

        Bytes u8(int v) { room(1).buf.put((byte) v); return this; }
        Bytes u32(int v) { room(4).buf.putInt(v); return this; }
        Bytes u64(long v) { room(8).buf.putLong(v); return this; }
        Bytes f32(float v) { room(4).buf.putFloat(v); return this; }
        Bytes f64(double v) { room(8).buf.putDouble(v); return this; }
        Bytes pad(long n) { room((int) n).buf.put(new byte[(int) n]); return this; }

        Bytes string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            room(b.length).buf.put(b);
            return this;
        }

        long size() { return buf.position(); }

        ByteBuffer buffer() { return buf.duplicate().flip(); }
    }
}
