package jlora.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * The safetensors entries of a bitsandbytes 4-bit weight, against hand-written entries in the
 * layout {@code QuantState.as_dict(packed=True)} produces (JSON text as Python's json.dumps
 * prints it), and the errors a user sees for incomplete checkpoints.
 */
class Bnb4bitFormatTest {
    private static final String W = "model.layers.0.mlp.down_proj.weight";

    private static Tensor u8(Arena arena, Shape shape, byte[] bytes) {
        Tensor t = Tensor.allocate(DType.U8, shape, arena);
        MemorySegment.copy(bytes, 0, t.data(), ValueLayout.JAVA_BYTE, 0, bytes.length);
        return t;
    }

    private static Tensor json(Arena arena, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return u8(arena, Shape.of(b.length), b);
    }

    /** A [2, 4] bf16 weight, one block with absmax 2, codes 15 0 7 12 8 14 1 3, packed by hand. */
    private static Map<String, Tensor> handWritten(Arena arena) {
        Map<String, Tensor> parts = new HashMap<>();
        parts.put(W, u8(arena, Shape.of(4, 1), new byte[] {(byte) 0xF0, (byte) 0x7C, (byte) 0x8E, (byte) 0x13}));
        parts.put(W + ".absmax", Tensor.of(DType.F32, Shape.of(1), new float[] {2.0f}, arena));
        parts.put(W + ".quant_map", Tensor.of(DType.F32, Shape.of(16), Nf4.codeBook(), arena));
        parts.put(W + ".quant_state.bitsandbytes__nf4",
                json(arena, "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [2, 4]}"));
        return parts;
    }

    @Test
    void readsAHandWrittenCheckpointWeight() {
        try (Arena arena = Arena.ofConfined()) {
            Nf4Tensor t = Nf4Tensor.fromBitsandbytes(handWritten(arena), W);
            assertEquals(Shape.of(2, 4), t.shape());
            assertEquals(DType.BF16, t.dtype());
            assertEquals(64, t.blocksize());
            assertTrue(t.nested().isEmpty());
            Tensor deq = t.dequantize(arena);
            assertEquals(DType.BF16, deq.dtype());
            double[] codes = {1.0, -1.0, 0.0, 0.44070982933044434, 0.07958029955625534, 0.7229568362236023,
                -0.6961928009986877, -0.39491748809814453};
            for (int i = 0; i < 8; i++) {
                float want = QuantChecks.bf16RneValue((float) codes[i] * 2.0f);
                assertEquals(want, deq.getFloat(i), "element " + i);
            }
            assertEquals("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [2, 4]}", Bnb4bitFormat.stateJson(t));
        }
    }

    @Test
    void writesWhatItReadsAndTheJsonBitsandbytesWrites() {
        try (Arena arena = Arena.ofConfined()) {
            // 600 blocks whose absmax alternate 0.5 and 0.25, so offset = mean = 0.375 exactly
            int n = 600 * 64;
            float[] x = new float[n];
            for (int b = 0; b < 600; b++) x[b * 64 + 3] = (b % 2 == 0) ? 0.5f : -0.25f;
            Tensor w = Tensor.of(DType.BF16, Shape.of(300, 128), x, arena);
            Nf4Tensor t = Nf4Tensor.quantize(w, 64, true, arena);
            Map<String, Tensor> parts = t.toBitsandbytes(W, arena);
            assertEquals(java.util.List.of(W, W + ".absmax", W + ".quant_map", W + ".nested_absmax", W + ".nested_quant_map",
                    W + ".quant_state.bitsandbytes__nf4"), java.util.List.copyOf(parts.keySet()));
            assertEquals(Shape.of(n / 2, 1), parts.get(W).shape());
            String blob = new String(parts.get(W + ".quant_state.bitsandbytes__nf4").data().toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            assertEquals("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [300, 128], "
                    + "\"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 0.375}", blob);
            Nf4Tensor back = Nf4Tensor.fromBitsandbytes(parts, W);
            QuantChecks.assertBytesEqual(t.packedBytes(), back.packedBytes(), "packed");
            QuantChecks.assertBitsEqual(t.absmaxF32(), back.absmaxF32(), "absmax");
            assertEquals(0.375f, back.nested().orElseThrow().offset());
            QuantChecks.assertBitsEqual(t.dequantize(arena).toFloatArray(), back.dequantize(arena).toFloatArray(), "dequantized");
        }
    }

    @Test
    void randomWeightSurvivesWriteAndRead() {
        long seed = QuantChecks.freshSeed();
        Random r = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.of(DType.F16, Shape.of(17, 33), QuantChecks.gaussian(r, 17 * 33, 0.1f), arena);
            for (boolean dq : new boolean[] {false, true}) {
                Nf4Tensor t = Nf4Tensor.quantize(w, 64, dq, arena);
                Nf4Tensor back = Nf4Tensor.fromBitsandbytes(t.toBitsandbytes(W, arena), W);
                assertEquals(DType.F16, back.dtype());
                QuantChecks.assertBitsEqual(t.dequantize(arena).toFloatArray(), back.dequantize(arena).toFloatArray(),
                        "seed " + seed + " double quant " + dq);
            }
        }
    }

    @Test
    void missingPartsNameTheWeightAndThePart() {
        try (Arena arena = Arena.ofConfined()) {
            for (String suffix : new String[] {"", ".absmax", ".quant_map", ".quant_state.bitsandbytes__nf4"}) {
                Map<String, Tensor> parts = handWritten(arena);
                parts.remove(W + suffix);
                UserError e = assertThrows(UserError.class, () -> Nf4Tensor.fromBitsandbytes(parts, W), suffix);
                assertTrue(e.getMessage().contains("'" + W + "'") && e.getMessage().contains("missing '" + W + suffix + "'"), e.getMessage());
            }
            Map<String, Tensor> nested = Nf4Tensor.quantize(Tensor.of(DType.F32, Shape.of(4, 64), new float[256], arena), 64, true, arena)
                    .toBitsandbytes(W, arena);
            nested.remove(W + ".nested_quant_map");
            UserError e = assertThrows(UserError.class, () -> Nf4Tensor.fromBitsandbytes(nested, W));
            assertTrue(e.getMessage().contains(W + ".nested_quant_map"), e.getMessage());
        }
    }

    @Test
    void fp4AndWrongShapesAreRefusedWithAReason() {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> fp4 = handWritten(arena);
            fp4.put(W + ".quant_state.bitsandbytes__fp4", fp4.remove(W + ".quant_state.bitsandbytes__nf4"));
            assertTrue(assertThrows(UserError.class, () -> Nf4Tensor.fromBitsandbytes(fp4, W)).getMessage().contains("FP4"));

            Map<String, Tensor> shape = handWritten(arena);
            shape.put(W + ".quant_state.bitsandbytes__nf4",
                    json(arena, "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [4, 4]}"));
            assertTrue(assertThrows(UserError.class, () -> Nf4Tensor.fromBitsandbytes(shape, W)).getMessage().contains("packed weight has 4 bytes"));

            Map<String, Tensor> badJson = handWritten(arena);
            badJson.put(W + ".quant_state.bitsandbytes__nf4", json(arena, "{\"quant_type\": "));
            assertTrue(assertThrows(UserError.class, () -> Nf4Tensor.fromBitsandbytes(badJson, W)).getMessage().contains("not valid JSON"));
        }
    }

    @Test
    void floatsArePrintedAsPythonRepr() {
        // Python 3: repr(x) for these doubles
        assertEquals("0.375", jlora.io.PythonJson.floatRepr(0.375));
        assertEquals("1e-05", jlora.io.PythonJson.floatRepr(1e-5));
        assertEquals("1.5e-05", jlora.io.PythonJson.floatRepr(1.5e-5));
        assertEquals("0.0001", jlora.io.PythonJson.floatRepr(1e-4));
        assertEquals("0.00123", jlora.io.PythonJson.floatRepr(0.00123));
        assertEquals("123.0", jlora.io.PythonJson.floatRepr(123.0));
        assertEquals("12345678.0", jlora.io.PythonJson.floatRepr(12345678.0));
        assertEquals("1e+16", jlora.io.PythonJson.floatRepr(1e16));
        assertEquals("1234567890123456.0", jlora.io.PythonJson.floatRepr(1234567890123456.0));
        assertEquals("-2.5e-07", jlora.io.PythonJson.floatRepr(-2.5e-7));
        assertEquals("0.10000000149011612", jlora.io.PythonJson.floatRepr((double) 0.1f));
        assertEquals("0.0", jlora.io.PythonJson.floatRepr(0.0));
    }
}
