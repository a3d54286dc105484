package jlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sharded writing and directory reading. The oracle for the index is the transformers layout:
 * {@code model-0000i-of-0000n.safetensors} files and an index JSON whose weight_map sends every
 * name to the shard holding it and whose metadata.total_size is the sum of tensor bytes, checked
 * with a plain JSON parse; tensors must come back bit-exact.
 */
class SafetensorsDirTest {
    @TempDir
    Path dir;

    private static SequencedMap<String, Tensor> randomModel(SplittableRandom rnd, Arena arena, int count) {
        SequencedMap<String, Tensor> m = new LinkedHashMap<>();
        DType[] types = {DType.F32, DType.BF16, DType.F16, DType.I64, DType.U8};
        for (int i = 0; i < count; i++) {
            DType d = types[rnd.nextInt(types.length)];
            Tensor t = Tensor.allocate(d, Shape.of(1 + rnd.nextInt(9), 1 + rnd.nextInt(9)), arena);
            for (long b = 0; b < t.byteSize(); b++) t.data().set(ValueLayout.JAVA_BYTE, b, (byte) rnd.nextInt());
            m.put("model.layers." + i + ".weight", t);
        }
        return m;
    }

    private static void assertSameTensors(SequencedMap<String, Tensor> expected, SafetensorsDir got, long seed) {
        assertEquals(expected.keySet(), got.names(), "seed " + seed);
        long total = 0;
        for (var e : expected.entrySet()) {
            Tensor back = got.tensor(e.getKey());
            assertEquals(e.getValue().shape(), back.shape());
            assertArrayEquals(e.getValue().data().toArray(ValueLayout.JAVA_BYTE), back.data().toArray(ValueLayout.JAVA_BYTE),
                    e.getKey() + " (seed " + seed + ")");
            total += e.getValue().byteSize();
        }
        assertEquals(total, got.totalBytes());
    }

    @Test
    void shardedRoundTripFollowsTheTransformersLayout() throws IOException {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            SequencedMap<String, Tensor> in = randomModel(rnd, arena, 30);
            long max = 300;
            List<Path> written = SafetensorsWriter.writeSharded(dir, "model", in, Map.of("format", "pt"), max);
            Path index = dir.resolve("model.safetensors.index.json");
            assertEquals(index, written.getLast());
            int n = written.size() - 1;
            assertTrue(n > 1, "30 tensors of up to 648 bytes need several 300-byte shards (seed " + seed + ")");
            JsonNode json = new ObjectMapper().readTree(index.toFile());
            long total = in.values().stream().mapToLong(Tensor::byteSize).sum();
            assertEquals(total, json.get("metadata").get("total_size").asLong());
            for (int i = 1; i <= n; i++) {
                String shard = String.format("model-%05d-of-%05d.safetensors", i, n);
                assertEquals(dir.resolve(shard), written.get(i - 1));
                try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(shard))) {
                    assertEquals("pt", f.metadata().get("format"));
                    assertTrue(f.dataBytes() <= max || f.names().size() == 1, shard + " over the limit (seed " + seed + ")");
                    for (String name : f.names()) assertEquals(shard, json.get("weight_map").get(name).asText());
                }
            }
            assertEquals(in.size(), json.get("weight_map").size());
            try (SafetensorsDir d = SafetensorsDir.open(dir)) {
                assertEquals(n, d.shards().size());
                // weight_map is written sorted, as transformers does; compare as sets then values
                assertEquals(in.size(), d.names().size());
                for (var e : in.entrySet()) {
                    assertArrayEquals(e.getValue().data().toArray(ValueLayout.JAVA_BYTE),
                            d.tensor(e.getKey()).data().toArray(ValueLayout.JAVA_BYTE), e.getKey() + " (seed " + seed + ")");
                }
                assertEquals(total, d.totalBytes());
            }

            // Saving again as one file removes the now stale shards and index.
            SafetensorsWriter.writeSharded(dir, "model", in, Map.of(), Long.MAX_VALUE);
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of("model.safetensors"), files.map(p -> p.getFileName().toString()).toList());
            }
            try (SafetensorsDir d = SafetensorsDir.open(dir)) {
                assertSameTensors(in, d, seed);
            }
        }
    }

    @Test
    void aLoneSafetensorsFileOrAFilePathIsUsed() throws IOException {
        long seed = new SplittableRandom().nextLong();
        try (Arena arena = Arena.ofConfined()) {
            SequencedMap<String, Tensor> in = randomModel(new SplittableRandom(seed), arena, 4);
            Path adapter = dir.resolve("adapter_model.safetensors");
            SafetensorsWriter.write(adapter, in, Map.of());
            try (SafetensorsDir d = SafetensorsDir.open(dir)) {
                assertSameTensors(in, d, seed);
            }
            try (SafetensorsDir d = SafetensorsDir.open(adapter)) {
                assertSameTensors(in, d, seed);
            }
        }
    }

    private UserError refused(String expected) {
        UserError e = assertThrows(UserError.class, () -> SafetensorsDir.open(dir).close());
        assertTrue(e.getMessage().contains(expected), "message lacks \"" + expected + "\": " + e.getMessage());
        return e;
    }

    private void writeIndex(String weightMapJson) throws IOException {
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{\"total_size\":0},\"weight_map\":" + weightMapJson + "}");
    }

    private void writeShard(String name, String... tensors) {
        try (Arena arena = Arena.ofConfined()) {
            SequencedMap<String, Tensor> m = new LinkedHashMap<>();
            for (String t : tensors) m.put(t, Tensor.allocate(DType.F32, Shape.of(2), arena));
            SafetensorsWriter.write(dir.resolve(name), m, Map.of());
        }
    }

    @Test
    void missingShardsAreListed() throws IOException {
        writeShard("s1.safetensors", "a");
        writeIndex("{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\",\"c\":\"s3.safetensors\"}");
        UserError e = refused("2 of 3 shards are missing: s2.safetensors, s3.safetensors");
        assertTrue(e.getMessage().startsWith(dir.resolve("model.safetensors.index.json").toString()), e.getMessage());
    }

    @Test
    void tensorsAbsentFromTheirShardAreListed() throws IOException {
        writeShard("s1.safetensors", "a", "b");
        writeShard("s2.safetensors", "c");
        writeIndex("{\"a\":\"s1.safetensors\",\"c\":\"s1.safetensors\",\"d\":\"s2.safetensors\"}");
        refused("2 tensors are not in the shard the index names: 'c' (in s1.safetensors), 'd' (in s2.safetensors)");
    }

    @Test
    void indexMustBeWellFormedAndStayInTheDirectory() throws IOException {
        writeIndex("{\"a\":\"../outside.safetensors\"}");
        refused("must name a shard file in the same directory");
        writeIndex("{\"a\":7}");
        refused("must name a shard file in the same directory");
        writeIndex("[]");
        refused("has no \"weight_map\" object");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}");
        refused("not valid JSON");
    }

    @Test
    void directoryWithoutWeightsOrWithSeveralUnindexedFiles() throws IOException {
        refused("no model.safetensors, model.safetensors.index.json or other .safetensors file");
        writeShard("a.safetensors", "x");
        writeShard("b.safetensors", "y");
        refused("has 2 .safetensors files (a.safetensors, b.safetensors) but no model.safetensors.index.json");
        UserError e = assertThrows(UserError.class, () -> SafetensorsDir.open(dir.resolve("nowhere")));
        assertTrue(e.getMessage().contains("no such directory"), e.getMessage());
    }

    @Test
    void singleFileWinsOverAnIndex() throws IOException {
        writeShard("model.safetensors", "only");
        writeIndex("{\"a\":\"missing.safetensors\"}");
        try (SafetensorsDir d = SafetensorsDir.open(dir)) {
            assertEquals(List.of("only"), List.copyOf(d.names()));
            assertFalse(d.contains("a"));
            UserError e = assertThrows(UserError.class, () -> d.tensor("a"));
            assertTrue(e.getMessage().contains("has no tensor named 'a'"), e.getMessage());
        }
    }
}
