package jlora.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SequencedSet;
import jlora.UserError;
import jlora.tensor.Tensor;

/**
 * A safetensors file, mapped read-only. The header is read and fully validated before anything
 * is mapped (see {@link SafetensorsHeader} for the rules), so a truncated or hostile file fails
 * in {@link #open} with one {@link UserError} naming the file. Tensors are zero-copy views of the
 * mapping and become unusable when this file is closed.
 *
 * <p>Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data area, which
 * every tensor's {@code data_offsets} index into.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final SequencedMap<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, SafetensorsHeader.Parsed header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = Collections.unmodifiableSequencedMap(header.tensors());
        this.metadata = header.metadata();
    }

    public static SafetensorsFile open(Path path) {
        String file = path.toString();
        if (Files.isDirectory(path)) throw new UserError(file + ": is a directory, not a .safetensors file");
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            // a FIFO or device would block or stream forever
            throw new UserError(file + ": is not a regular file");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw SafetensorsHeader.bad(file, "file is " + size + " bytes, too short for a safetensors header"
                        + " (8-byte length first); the file is truncated or not a safetensors file");
            }
            long headerLength = readFully(ch, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            SafetensorsHeader.checkLength(file, size, headerLength);
            long dataStart = 8 + headerLength;
            byte[] header = readFully(ch, 8, (int) headerLength).array();
            SafetensorsHeader.Parsed parsed = SafetensorsHeader.parse(file, header, size - dataStart);
            // Shared: tensors are read by worker threads. Closed by close(), which unmaps.
            Arena arena = Arena.ofShared();
            try {
                MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new SafetensorsFile(path, arena, all.asSlice(dataStart), parsed);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new UserError(file + ": permission denied; check the file's permissions");
        } catch (IOException e) {
            throw new UserError(file + ": cannot be read: " + e.getMessage(), e);
        }
    }

    private static ByteBuffer readFully(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) throw new IOException("file shrank while being read");
        }
        return buf;
    }

    public Path path() {
        return path;
    }

    /** Tensor names in header order. */
    public SequencedSet<String> names() {
        return tensors.sequencedKeySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new UserError(path + ": has no tensor named " + SafetensorsHeader.quote(name));
        return t;
    }

    /** A read-only view of the mapped bytes; valid until {@link #close()}. */
    public Tensor tensor(String name) {
        TensorInfo t = info(name);
        return Tensor.wrap(t.dtype(), t.shape(), data.asSlice(t.begin(), t.byteSize()));
    }

    /** The header's {@code __metadata__} (e.g. {"format": "pt"}); empty when it has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Bytes of tensor data (the data area's size). */
    public long dataBytes() {
        return data.byteSize();
    }

    /** Unmaps the file; tensors obtained from it must not be used afterwards. Idempotent. */
    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
