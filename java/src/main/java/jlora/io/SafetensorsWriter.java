package jlora.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Writes safetensors files the way the reference writer does: header JSON
 * ({@code __metadata__} first, then each tensor's dtype, shape, data_offsets) padded with spaces to
 * a multiple of 8 bytes so the data area starts 8-aligned, then the tensors' bytes back to back.
 * Tensors are laid out in the map's order (the reference sorts by dtype; put wider dtypes first
 * if every tensor must start at a multiple of its element size). Every file is written through
 * {@link AtomicFiles}.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    private static final JsonFactory JSON = new JsonFactory();
    private static final int CHUNK = 16 << 20;

    /**
     * Writes one file atomically. {@code metadata} may be empty (then no __metadata__ entry); a
     * {@link SequencedMap} keeps its order, any other map is written sorted by key.
     */
    public static void write(Path file, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata);
        AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            AtomicFiles.writeAll(out, len);
            AtomicFiles.writeAll(out, ByteBuffer.wrap(header));
            for (Tensor t : tensors.values()) writeSegment(out, t.data());
        });
    }

    /**
     * Writes {@code tensors} as Hugging Face sharded checkpoint files in {@code dir}: shards of at
     * most {@code maxShardBytes} tensor bytes (a larger tensor gets a shard of its own), named
     * {@code BASE-0000i-of-0000n.safetensors}, and {@code BASE.safetensors.index.json} mapping each
     * name to its shard, as transformers' {@code save_pretrained} does. One shard is written as
     * plain {@code BASE.safetensors} with no index, again as transformers does. Each file is atomic;
     * the index is written last, so it never names a shard that is not complete. Files of an earlier
     * save under the same base name that this save does not produce are removed afterwards, so a
     * reader cannot pick up a stale {@code BASE.safetensors} next to a new index.
     *
     * @return the files written, shards first
     */
    public static List<Path> writeSharded(Path dir, String baseName, SequencedMap<String, Tensor> tensors,
                                          Map<String, String> metadata, long maxShardBytes) {
        // The tensors already exist: the streaming writer with a producer that hands them over.
        SequencedMap<String, Slot> layout = new LinkedHashMap<>();
        tensors.forEach((name, t) -> layout.put(name, new Slot(t.dtype(), t.shape())));
        return writeShardedStreamed(dir, baseName, layout, metadata, maxShardBytes, (name, scratch) -> tensors.get(name));
    }

    /** The dtype and shape of a tensor whose bytes a {@link Producer} supplies when its turn comes. */
    public record Slot(DType dtype, Shape shape) {
        public long byteSize() {
            return dtype.byteSize(shape.numel());
        }
    }

    /**
     * Makes the tensor {@code name} when the writer reaches it; memory for it comes from
     * {@code scratch} (a shared arena), which is closed once its bytes are written.
     */
    @FunctionalInterface
    public interface Producer {
        Tensor produce(String name, Arena scratch);
    }

    /**
     * As {@link #writeSharded}, but streaming: the layout (names, dtypes, shapes) is fixed up
     * front, so every header is known before any tensor exists, and each tensor is produced,
     * written and freed in turn: one tensor in memory at a time, whatever the model's size.
     */
    public static List<Path> writeShardedStreamed(Path dir, String baseName, SequencedMap<String, Slot> layout,
                                                  Map<String, String> metadata, long maxShardBytes, Producer producer) {
        List<SequencedMap<String, Slot>> shards = plan(layout, maxShardBytes);
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path single = dir.resolve(baseName + ".safetensors");
            writeStreamed(single, shards.getFirst(), metadata, producer);
            written.add(single);
        } else {
            Map<String, String> weightMap = new TreeMap<>();
            long totalSize = 0;
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("%s-%05d-of-%05d.safetensors", baseName, i + 1, shards.size());
                Path shard = dir.resolve(name);
                writeStreamed(shard, shards.get(i), metadata, producer);
                written.add(shard);
                for (var e : shards.get(i).entrySet()) {
                    weightMap.put(e.getKey(), name);
                    totalSize += e.getValue().byteSize();
                }
            }
            Path index = dir.resolve(baseName + ".safetensors.index.json");
            AtomicFiles.writeString(index, indexJson(totalSize, weightMap));
            written.add(index);
        }
        removeStale(dir, baseName, written);
        return written;
    }

    /** One file whose tensors come from {@code producer}, each checked against its slot. */
    public static void writeStreamed(Path file, SequencedMap<String, Slot> layout, Map<String, String> metadata,
                                     Producer producer) {
        byte[] header = headerOf(layout, metadata);
        AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            AtomicFiles.writeAll(out, len);
            AtomicFiles.writeAll(out, ByteBuffer.wrap(header));
            for (var e : layout.entrySet()) {
                try (Arena scratch = Arena.ofShared()) {
                    Tensor t = producer.produce(e.getKey(), scratch);
                    Slot s = e.getValue();
                    if (t.dtype() != s.dtype() || !t.shape().equals(s.shape())) {
                        throw new IllegalStateException("tensor '" + e.getKey() + "' was produced as " + t.dtype() + " "
                                + t.shape() + ", but its header entry says " + s.dtype() + " " + s.shape());
                    }
                    writeSegment(out, t.data());
                }
            }
        });
    }

    /** Shards in order: a new one starts when the next tensor would pass the limit (transformers' rule). */
    private static List<SequencedMap<String, Slot>> plan(SequencedMap<String, Slot> layout, long maxShardBytes) {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive: " + maxShardBytes);
        List<SequencedMap<String, Slot>> shards = new ArrayList<>();
        SequencedMap<String, Slot> current = new LinkedHashMap<>();
        long currentBytes = 0;
        for (var e : layout.entrySet()) {
            long size = e.getValue().byteSize();
            if (!current.isEmpty() && currentBytes + size > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += size;
        }
        if (!current.isEmpty() || shards.isEmpty()) shards.add(current);
        return shards;
    }

    private static String indexJson(long totalSize, Map<String, String> weightMap) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        weightMap.forEach(map::put);
        try {
            return mapper.writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void removeStale(Path dir, String baseName, List<Path> written) {
        Pattern ours = Pattern.compile(Pattern.quote(baseName)
                + "(-\\d{5}-of-\\d{5}\\.safetensors|\\.safetensors|\\.safetensors\\.index\\.json)");
        List<Path> keep = written.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                if (ours.matcher(p.getFileName().toString()).matches() && !keep.contains(p.toAbsolutePath().normalize())) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UserError("wrote " + written + " but could not remove older files of the same name in " + dir
                    + ": " + e.getMessage() + "; delete them by hand", e);
        }
    }

    /** The header JSON, space-padded to a multiple of 8 bytes as the reference writer pads it. */
    static byte[] header(SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {
        SequencedMap<String, Slot> layout = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() == DType.NF4) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "': NF4 has no safetensors dtype;"
                        + " store the packed bytes as U8, as bitsandbytes does");
            }
            layout.put(e.getKey(), new Slot(t.dtype(), t.shape()));
        }
        return headerOf(layout, metadata);
    }

    private static byte[] headerOf(SequencedMap<String, Slot> tensors, Map<String, String> metadata) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(bytes)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                // A plain Map's order changes from run to run; sort it so equal input gives equal bytes.
                Map<String, String> ordered = metadata instanceof SequencedMap<String, String> ? metadata : new TreeMap<>(metadata);
                g.writeObjectFieldStart(SafetensorsHeader.METADATA_KEY);
                for (var e : ordered.entrySet()) {
                    if (e.getKey() == null || e.getValue() == null) {
                        throw new IllegalArgumentException("__metadata__ needs non-null keys and values: " + e);
                    }
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (var e : tensors.entrySet()) {
                String name = e.getKey();
                Slot t = e.getValue();
                if (name.isEmpty() || name.equals(SafetensorsHeader.METADATA_KEY)) {
                    throw new IllegalArgumentException("tensor name " + SafetensorsHeader.quote(name) + " is reserved");
                }
                if (t.dtype() == DType.NF4) {
                    throw new IllegalArgumentException("tensor '" + name + "': NF4 has no safetensors dtype;"
                            + " store the packed bytes as U8, as bitsandbytes does");
                }
                g.writeObjectFieldStart(name);
                g.writeStringField("dtype", t.dtype().name());
                g.writeArrayFieldStart("shape");
                for (long d : t.shape().dims()) g.writeNumber(d);
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                offset += t.byteSize();
                g.writeNumber(offset);
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        if (bytes.size() > SafetensorsHeader.MAX_HEADER_BYTES - 8) {
            throw new IllegalArgumentException("safetensors header of " + bytes.size() + " bytes exceeds the "
                    + SafetensorsHeader.MAX_HEADER_BYTES + "-byte limit readers enforce; split the tensors over shards");
        }
        int pad = (8 - bytes.size() % 8) % 8;
        bytes.writeBytes(" ".repeat(pad).getBytes(StandardCharsets.US_ASCII));
        return bytes.toByteArray();
    }

    private static void writeSegment(FileChannel out, MemorySegment seg) throws IOException {
        long size = seg.byteSize();
        if (seg.isNative() || seg.isMapped()) {
            for (long off = 0; off < size; off += CHUNK) {
                AtomicFiles.writeAll(out, seg.asSlice(off, Math.min(CHUNK, size - off)).asByteBuffer());
            }
            return;
        }
        // A heap segment over a non-byte array cannot be viewed as a ByteBuffer: copy in chunks.
        byte[] buf = new byte[(int) Math.min(CHUNK, size)];
        for (long off = 0; off < size; off += buf.length) {
            int n = (int) Math.min(buf.length, size - off);
            MemorySegment.copy(seg, off, MemorySegment.ofArray(buf), 0, n);
            AtomicFiles.writeAll(out, ByteBuffer.wrap(buf, 0, n));
        }
    }
}
