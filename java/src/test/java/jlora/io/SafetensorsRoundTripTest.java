package jlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes random tensors of every safetensors dtype and checks the file two ways: an independent
 * decoding of the bytes per the format spec (u64 LE length, JSON via a plain ObjectMapper tree,
 * offsets into the data area) and our reader; both must give back exactly the bytes written.
 */
class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private static final List<DType> SAFETENSORS_DTYPES = Arrays.stream(DType.values()).filter(d -> d != DType.NF4).toList();

    private static Tensor randomTensor(SplittableRandom rnd, DType dtype, Arena arena) {
        int rank = rnd.nextInt(4);
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) dims[i] = rnd.nextInt(6); // zeros included: empty tensors are legal
        Tensor t = Tensor.allocate(dtype, Shape.of(dims), arena);
        for (long i = 0; i < t.byteSize(); i++) t.data().set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        return t;
    }

    private static byte[] bytes(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void everyDtypeRoundTripsBitExactly() throws IOException {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            SequencedMap<String, Tensor> in = new LinkedHashMap<>();
            for (DType d : SAFETENSORS_DTYPES) {
                in.put("t." + d.name().toLowerCase(), randomTensor(rnd, d, arena));
                in.put("t." + d.name().toLowerCase() + ".big", Tensor.allocate(d, Shape.of(7, 13), arena));
            }
            // bf16 / f16 holding real values (rounded from floats), not just random bits
            float[] vals = new float[40];
            for (int i = 0; i < vals.length; i++) vals[i] = (float) rnd.nextGaussian() * 100;
            in.put("w.bf16", Tensor.of(DType.BF16, Shape.of(5, 8), vals, arena));
            in.put("w.f16", Tensor.of(DType.F16, Shape.of(8, 5), vals, arena));
            Map<String, String> meta = Map.of("format", "pt", "note", "ünïcødé \"quoted\"");
            Path file = dir.resolve("model.safetensors");
            SafetensorsWriter.write(file, in, meta);

            // Independent decoding of the file per the spec.
            byte[] raw = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, n % 8, "header length is padded to a multiple of 8 (seed " + seed + ")");
            String headerText = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
            JsonNode header = new ObjectMapper().readTree(headerText);
            assertEquals("pt", header.get("__metadata__").get("format").asText());
            assertEquals(meta.get("note"), header.get("__metadata__").get("note").asText());
            List<String> headerOrder = new ArrayList<>();
            header.fieldNames().forEachRemaining(headerOrder::add);
            headerOrder.remove("__metadata__");
            assertEquals(List.copyOf(in.keySet()), headerOrder, "header keeps the map's order");
            for (var e : in.entrySet()) {
                JsonNode entry = header.get(e.getKey());
                Tensor t = e.getValue();
                assertEquals(t.dtype().name(), entry.get("dtype").asText());
                long[] shape = new long[entry.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = entry.get("shape").get(i).asLong();
                assertArrayEquals(t.shape().dims(), shape);
                int begin = entry.get("data_offsets").get(0).asInt();
                int end = entry.get("data_offsets").get(1).asInt();
                byte[] stored = Arrays.copyOfRange(raw, (int) (8 + n + begin), (int) (8 + n + end));
                assertArrayEquals(bytes(t), stored, e.getKey() + " bytes in the file (seed " + seed + ")");
            }

            // Our reader.
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(List.copyOf(in.keySet()), List.copyOf(f.names()));
                assertEquals(meta, f.metadata());
                for (var e : in.entrySet()) {
                    Tensor back = f.tensor(e.getKey());
                    assertEquals(e.getValue().dtype(), back.dtype());
                    assertEquals(e.getValue().shape(), back.shape());
                    assertArrayEquals(bytes(e.getValue()), bytes(back), e.getKey() + " (seed " + seed + ")");
                }
                assertArrayEquals(Tensor.of(DType.BF16, Shape.of(40), vals, arena).toFloatArray(),
                        f.tensor("w.bf16").toFloatArray());
                assertTrue(f.tensor("w.f16").data().isReadOnly(), "mapped views are read-only");
            }
        }
    }

    @Test
    void headerIsByteForByteWhatTheSpecDescribes() throws IOException {
        // The layout the reference writer produces: compact JSON, __metadata__ first, each entry's
        // fields in the order dtype, shape, data_offsets, spaces up to a multiple of 8 bytes.
        try (Arena arena = Arena.ofConfined()) {
            SequencedMap<String, Tensor> in = new LinkedHashMap<>();
            in.put("a", Tensor.allocate(DType.F32, Shape.of(2, 2), arena));
            in.put("bc", Tensor.allocate(DType.BF16, Shape.of(3), arena));
            Path file = dir.resolve("spec.safetensors");
            SafetensorsWriter.write(file, in, Map.of("format", "pt"));
            String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                    + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                    + "\"bc\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]}}";
            String padded = json + " ".repeat((8 - json.length() % 8) % 8);
            byte[] expected = RawFiles.file(padded, new byte[22]);
            assertArrayEquals(expected, Files.readAllBytes(file));
        }
    }

    @Test
    void filesOver2GiBAreMappedWhole() throws IOException {
        // A sparse file: 3 GiB of data area cost no disk. Offsets past 2^31 must not wrap.
        long big = 3L << 30;
        String json = "{\"small\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[8," + (8 + big) + "]}}";
        Path file = dir.resolve("sparse.safetensors");
        byte[] head = RawFiles.file(json, new byte[0]);
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.write(head);
            raf.setLength(head.length + 8 + big);
            raf.seek(head.length + 8 + big - 1);
            raf.write(0x5A);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor t = f.tensor("big");
            assertEquals(big, t.numel());
            assertEquals(0x5A, t.getLong(big - 1));
            assertEquals(0, t.getLong(big - 2));
            assertEquals(8 + big, f.dataBytes());
        }
    }

    @Test
    void heapSegmentsAndLargeTensorsAreWrittenInFull() throws IOException {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] vals = new float[(20 << 20) / 4 + 3]; // over one 16 MiB write chunk
        for (int i = 0; i < vals.length; i++) vals[i] = rnd.nextInt();
        Tensor heap = Tensor.wrap(DType.F32, Shape.of(vals.length), MemorySegment.ofArray(vals));
        Path file = dir.resolve("heap.safetensors");
        SequencedMap<String, Tensor> in = new LinkedHashMap<>();
        in.put("h", heap);
        SafetensorsWriter.write(file, in, Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(vals, f.tensor("h").toFloatArray(), "seed " + seed);
        }
    }
}
