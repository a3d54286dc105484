package jlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import jlora.quant.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GGUF v3 byte layout, read back by a minimal reader written here from ggml's docs/gguf.md
 * (not from the writer): header fields, every metadata value type used, tensor infos with dims
 * reversed to ggml order, offsets aligned to 32 and the data bytes at those offsets. The
 * llama.cpp end-to-end check is GgufLlamaCppTest; the Q4_K_M mixture rules are checked here
 * against llama-quant.cpp's published ones.
 */
class GgufWriterTest {
    @TempDir
    Path tmp;

    /** What the reader found. */
    record Read(int version, Map<String, Object> kv, List<Object[]> tensors, long dataStart, ByteBuffer file) {}

    static Read read(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        b.get(magic);
        assertEquals("GGUF", new String(magic, StandardCharsets.US_ASCII));
        int version = b.getInt();
        long nt = b.getLong(), nkv = b.getLong();
        Map<String, Object> kv = new LinkedHashMap<>();
        for (long i = 0; i < nkv; i++) {
            String key = str(b);
            kv.put(key, value(b, b.getInt()));
        }
        List<Object[]> tensors = new ArrayList<>();
        for (long i = 0; i < nt; i++) {
            String name = str(b);
            int nd = b.getInt();
            long[] dims = new long[nd];
            for (int d = 0; d < nd; d++) dims[d] = b.getLong();
            tensors.add(new Object[] {name, dims, b.getInt(), b.getLong()});
        }
        long align = ((Number) kv.getOrDefault("general.alignment", 32L)).longValue();
        long dataStart = (b.position() + align - 1) / align * align;
        return new Read(version, kv, tensors, dataStart, b);
    }

    private static String str(ByteBuffer b) {
        byte[] s = new byte[Math.toIntExact(b.getLong())];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    /** gguf.md value types: 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64, 12 f64. */
    private static Object value(ByteBuffer b, int type) {
        return switch (type) {
            case 4 -> Integer.toUnsignedLong(b.getInt());
            case 5 -> (long) b.getInt();
            case 6 -> (double) b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> str(b);
            case 10 -> b.getLong();
            case 12 -> b.getDouble();
            case 9 -> {
                int et = b.getInt();
                long n = b.getLong();
                List<Object> l = new ArrayList<>();
                for (long i = 0; i < n; i++) l.add(value(b, et));
                yield l;
            }
            default -> throw new AssertionError("unexpected value type " + type);
        };
    }

    @Test
    void layoutReadsBack() throws IOException {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        float[] a = new float[3 * 64];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        float[] bias = {1.5f, -2f, 0.25f};
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "qwen2").putString("general.name", "안녕 model")
                .putU32("qwen2.block_count", 4_000_000_000L).putI32("x.i32", -7).putU64("x.u64", 1L << 40)
                .putF32("x.f32", 1e-6).putF64("x.f64", Math.PI).putBool("x.bool", true)
                .putStrings("tokenizer.ggml.tokens", List.of("a", "", "한")).putI32s("x.ints", new int[] {1, -2, 3})
                .putF32s("x.floats", new float[] {0.5f, -1f});
        w.addTensor("blk.0.attn_q.bias", new long[] {3}, GgmlType.F32, ch -> ch.write(f32(bias)));
        w.addTensor("token_embd.weight", new long[] {3, 64}, GgmlType.Q8_0, ch -> {
            ByteBuffer q = ByteBuffer.allocate((int) GgmlType.Q8_0.byteSize(a.length));
            jlora.quant.GgmlQuants.quantize(GgmlType.Q8_0, a, 0, a.length, q);
            ch.write(q.flip());
        });
        Path out = tmp.resolve("m.gguf");
        w.write(out);

        Read got = read(out);
        assertEquals(3, got.version());
        assertEquals(32L, got.kv().get("general.alignment"), "general.alignment comes first, u32");
        assertEquals("안녕 model", got.kv().get("general.name"));
        assertEquals(4_000_000_000L, got.kv().get("qwen2.block_count"));
        assertEquals(-7L, got.kv().get("x.i32"));
        assertEquals(1L << 40, got.kv().get("x.u64"));
        assertEquals((double) 1e-6f, got.kv().get("x.f32"));
        assertEquals(Math.PI, got.kv().get("x.f64"));
        assertEquals(true, got.kv().get("x.bool"));
        assertEquals(List.of("a", "", "한"), got.kv().get("tokenizer.ggml.tokens"));
        assertEquals(List.of(1L, -2L, 3L), got.kv().get("x.ints"));
        assertEquals(List.of(0.5, -1.0), got.kv().get("x.floats"));

        assertEquals(2, got.tensors().size());
        Object[] t0 = got.tensors().get(0), t1 = got.tensors().get(1);
        assertArrayEquals(new long[] {3}, (long[]) t0[1]);
        assertArrayEquals(new long[] {64, 3}, (long[]) t1[1], "ggml order: ne[0] is the row length");
        assertEquals(0, (int) t0[2]);
        assertEquals(8, (int) t1[2], "GGML_TYPE_Q8_0");
        assertEquals(0L, t0[3]);
        assertEquals(32L, t1[3], "12 bytes of bias padded to the 32-byte alignment");
        assertEquals(0, got.dataStart() % 32);
        ByteBuffer f = got.file();
        for (int i = 0; i < 3; i++) assertEquals(bias[i], f.getFloat((int) got.dataStart() + 4 * i), "bias " + i);
        float[] back = new float[a.length];
        ByteBuffer q = f.duplicate().order(ByteOrder.LITTLE_ENDIAN).position((int) (got.dataStart() + 32));
        jlora.quant.GgmlQuants.dequantize(GgmlType.Q8_0, q, a.length, back, 0);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], back[i], 0.02, "token_embd element " + i + " seed " + seed);
        }
        assertEquals(0, Files.size(out) % 32, "the data section ends padded");
        assertEquals(got.dataStart() + 32 + 6 * 34 + 20, Files.size(out), "204 bytes of Q8_0 padded to 224");
    }

    @Test
    void failingTensorLeavesNothing() throws IOException {
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        w.addTensor("short", new long[] {8}, GgmlType.F32, ch -> ch.write(ByteBuffer.allocate(4)));
        Path out = tmp.resolve("bad.gguf");
        assertThrows(IllegalStateException.class, () -> w.write(out));
        assertFalse(Files.exists(out));
        try (var s = Files.list(tmp)) {
            assertEquals(0, s.count(), "no temp file left");
        }
    }

    @Test
    void refusesPartialBlocksAndDuplicates() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("x", new long[] {2, 48}, GgmlType.Q8_0, ch -> { }));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("x", new long[] {64, 128}, GgmlType.Q4_K, ch -> { }));
        w.putString("k", "v");
        assertThrows(IllegalArgumentException.class, () -> w.putString("k", "w"));
    }

    /**
     * llama-quant.cpp's Q4_K_M for a 32-layer model (Llama 2 7B): attn_v and ffn_down get Q6_K in
     * layers 0-3 and 28-31 and every third between starting at 6 (use_more_bits), the head Q6_K,
     * the rest Q4_K; 1-D tensors F32; rows of 64 (not whole 256-blocks) fall back to Q5_0 / Q8_0.
     */
    @Test
    void q4KMMixture() {
        List<Integer> six = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            if (GgufFileType.Q4_K_M.tensorType("blk." + i + ".attn_v.weight", new long[] {4096, 4096}, i, 32, false)
                    == GgmlType.Q6_K) six.add(i);
        }
        assertEquals(List.of(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31), six);
        GgufFileType t = GgufFileType.Q4_K_M;
        assertEquals(GgmlType.Q4_K, t.tensorType("blk.5.attn_q.weight", new long[] {4096, 4096}, 5, 32, false));
        assertEquals(GgmlType.Q6_K, t.tensorType("blk.0.ffn_down.weight", new long[] {4096, 11008}, 0, 32, false));
        assertEquals(GgmlType.Q6_K, t.tensorType("output.weight", new long[] {32000, 4096}, -1, 32, true));
        assertEquals(GgmlType.Q4_K, t.tensorType("token_embd.weight", new long[] {32000, 4096}, -1, 32, false));
        assertEquals(GgmlType.F32, t.tensorType("blk.0.attn_norm.weight", new long[] {4096}, 0, 32, false));
        assertEquals(GgmlType.Q5_0, t.tensorType("blk.5.attn_q.weight", new long[] {64, 64}, 5, 32, false));
        assertEquals(GgmlType.Q8_0, t.tensorType("token_embd.weight", new long[] {259, 64}, -1, 2, true));
        assertEquals(GgmlType.F16, GgufFileType.Q8_0.tensorType("x.weight", new long[] {4, 48}, 0, 1, false));
    }

    @Test
    void modelfileForChatMl() {
        String m = OllamaModelfile.text(Path.of("/x/tiny-q8_0.gguf"), TinyModelTemplate.CHATML, List.of("<|endoftext|>", "<|im_end|>"));
        assertTrue(m.startsWith("FROM ./tiny-q8_0.gguf\n"), m);
        assertTrue(m.contains("TEMPLATE \"\"\"") && m.contains("<|im_start|>{{ .Role }}"), m);
        assertTrue(m.contains("PARAMETER stop \"<|im_end|>\"\nPARAMETER stop \"<|endoftext|>\"\n"), m);
    }

    /** The tiny model's template, via its public constant. */
    private static final class TinyModelTemplate {
        static final String CHATML = jlora.model.TinyModel.CHATML_TEMPLATE;
    }

    private static ByteBuffer f32(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.flip();
    }
}
