package jlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A write either completes or leaves the directory exactly as it was: no target, no temp file. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesAndReplaces() throws IOException {
        Path t = dir.resolve("sub/x.json");
        AtomicFiles.writeString(t, "first");
        AtomicFiles.writeString(t, "second ü");
        assertEquals("second ü", Files.readString(t));
        try (Stream<Path> s = Files.list(t.getParent())) {
            assertEquals(List.of("x.json"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void contentThatThrowsMidwayLeavesNothingAndKeepsTheOldFile() throws IOException {
        IllegalStateException boom = new IllegalStateException("boom");
        Path fresh = dir.resolve("fresh.bin");
        var thrown = assertThrows(IllegalStateException.class, () -> AtomicFiles.write(fresh, out -> {
            out.write(ByteBuffer.wrap(new byte[1000]));
            throw boom;
        }));
        assertSame(boom, thrown, "the content's own exception propagates unchanged");
        assertEquals(List.of(), listing());

        Path old = dir.resolve("old.bin");
        AtomicFiles.writeBytes(old, new byte[] {1, 2, 3});
        assertThrows(UserError.class, () -> AtomicFiles.write(old, out -> {
            out.write(ByteBuffer.wrap(new byte[10]));
            throw new IOException("disk full");
        }));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(old));
        assertEquals(List.of("old.bin"), listing());
    }

    @Test
    void safetensorsWriterFailingMidwayLeavesNothing() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            SequencedMap<String, Tensor> in = new LinkedHashMap<>();
            in.put("ok", Tensor.allocate(DType.F32, Shape.of(64), arena));
            // A tensor whose memory dies before it is written: the writer fails after the header.
            Arena dead = Arena.ofConfined();
            MemorySegment gone = dead.allocate(16);
            in.put("gone", Tensor.wrap(DType.F32, Shape.of(4), gone));
            dead.close();
            assertThrows(IllegalStateException.class,
                    () -> SafetensorsWriter.write(dir.resolve("model.safetensors"), in, Map.of()));
            assertEquals(List.of(), listing());
        }
    }

    @Test
    void unwritableTargetIsAUserError() throws IOException {
        Path blocker = dir.resolve("file");
        Files.writeString(blocker, "x");
        UserError e = assertThrows(UserError.class, () -> AtomicFiles.writeString(blocker.resolve("child.json"), "y"));
        assertTrue(e.getMessage().startsWith("cannot write " + blocker.resolve("child.json")), e.getMessage());
        assertEquals(List.of("file"), listing());
    }
}
