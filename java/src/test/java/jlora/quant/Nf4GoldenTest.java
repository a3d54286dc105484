package jlora.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * Byte-exactness against bitsandbytes' own CUDA kernels: golden files written by
 * {@code tools/golden/make_nf4_golden.py} on a machine with a GPU and bitsandbytes, committed
 * under {@code src/test/resources/golden/nf4/}. Requires identical packed bytes, fp32 absmax,
 * nested codes and nested absmax (given bitsandbytes' offset), dequantized values and quant-state
 * JSON. Skipped, saying so, when the golden files have not been generated.
 */
class Nf4GoldenTest {
    private static final String DIR = "/golden/nf4/";
    private static final String W = "w";

    private static JsonNode manifest() throws IOException {
        try (InputStream in = Nf4GoldenTest.class.getResourceAsStream(DIR + "manifest.json")) {
            Assumptions.assumeTrue(in != null, "no bitsandbytes golden files: generate java/src/test/resources/golden/nf4/ on the GPU machine"
                    + " with `python3 tools/golden/make_nf4_golden.py` (needs CUDA, torch, bitsandbytes) and commit them");
            return new ObjectMapper().readTree(in);
        }
    }

    private static byte[] bytes(String file) throws IOException {
        try (InputStream in = Nf4GoldenTest.class.getResourceAsStream(DIR + file)) {
            if (in == null) fail("golden file " + file + " named in manifest.json is missing");
            return in.readAllBytes();
        }
    }

    private static float[] f32(String file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static Tensor tensor(Arena arena, DType dt, Shape shape, byte[] raw) {
        MemorySegment seg = arena.allocate(raw.length, 64);
        MemorySegment.copy(raw, 0, seg, ValueLayout.JAVA_BYTE, 0, raw.length);
        return Tensor.wrap(dt, shape, seg);
    }

    private static DType dtype(String torchName) {
        return switch (torchName) {
            case "bfloat16" -> DType.BF16;
            case "float16" -> DType.F16;
            case "float32" -> DType.F32;
            default -> throw new IllegalArgumentException(torchName);
        };
    }

    private static long[] longs(JsonNode arr) {
        long[] d = new long[arr.size()];
        for (int i = 0; i < d.length; i++) d[i] = arr.get(i).longValue();
        return d;
    }

    @Test
    void dynamicMapMatchesOneOfTorchsLinspaceKernels() throws IOException {
        JsonNode m = manifest();
        float[] golden = f32(m.get("dynamic_map").asText());
        StringBuilder tried = new StringBuilder();
        for (DynamicMap.LinspaceKernel k : DynamicMap.LinspaceKernel.values()) {
            float[] ours = DynamicMap.create(true, k);
            int diff = 0;
            for (int i = 0; i < 256; i++) if (Float.floatToIntBits(ours[i]) != Float.floatToIntBits(golden[i])) diff++;
            if (diff == 0) {
                if (k != DynamicMap.LinspaceKernel.AVX512) {
                    System.out.println("golden dynamic map matches torch's " + k + " linspace (cpu_capability "
                            + m.path("cpu_capability").asText() + "); jlora's default is AVX512");
                }
                return;
            }
            tried.append(k).append(": ").append(diff).append(" entries differ; ");
        }
        fail("bitsandbytes' create_dynamic_map(signed=True) from the golden file matches no linspace kernel: " + tried);
    }

    @Test
    void packedBytesAbsmaxNestedStateAndDequantizedValuesAreIdentical() throws IOException {
        JsonNode m = manifest();
        for (JsonNode c : m.get("cases")) {
            String name = c.get("name").asText();
            String at = "golden case " + name + " (bitsandbytes " + m.path("bitsandbytes").asText() + "): ";
            DType dt = dtype(c.get("dtype").asText());
            Shape shape = Shape.of(longs(c.get("shape")));
            int blocksize = c.get("blocksize").asInt();
            try (Arena arena = Arena.ofConfined()) {
                Tensor x = tensor(arena, dt, shape, bytes(c.get("x").asText()));
                Nf4Tensor ours = Nf4Tensor.quantize(x, blocksize, false, arena);
                QuantChecks.assertBytesEqual(bytes(c.get("packed").asText()), ours.packedBytes(), at + "packed");
                float[] absmax = f32(c.get("absmax_f32").asText());
                QuantChecks.assertBitsEqual(absmax, ours.absmaxF32(), at + "absmax");
                QuantChecks.assertBitsEqual(f32(c.get("quant_map").asText()), Nf4.codeBook(), at + "quant_map");

                Map<String, Tensor> parts = new HashMap<>();
                parts.put(W, tensor(arena, DType.U8, Shape.of(longs(c.get("packed_shape"))), bytes(c.get("packed").asText())));
                parts.put(W + Bnb4bitFormat.QUANT_MAP, tensor(arena, DType.F32, Shape.of(16), bytes(c.get("quant_map").asText())));
                byte[] json = bytes(c.get("quant_state").asText());
                parts.put(W + Bnb4bitFormat.QUANT_STATE_NF4, tensor(arena, DType.U8, Shape.of(json.length), json));
                if (c.get("double_quant").asBoolean()) {
                    float offset = Float.intBitsToFloat((int) c.get("offset_bits").asLong());
                    float[] nestedMap = f32(c.get("nested_quant_map").asText());
                    // bitsandbytes' offset comes from torch's fp32 mean on the GPU; ours is the correctly rounded mean
                    float ourOffset = DoubleQuant.mean(absmax);
                    assertTrue(Math.abs(ourOffset - offset) <= 2 * Math.ulp(offset), at + "offset " + ourOffset + " vs " + offset);
                    DoubleQuant.Nested nested = DoubleQuant.quantize(absmax, nestedMap, offset);
                    QuantChecks.assertBytesEqual(bytes(c.get("absmax").asText()), nested.q(), at + "double-quantized absmax codes");
                    QuantChecks.assertBitsEqual(f32(c.get("nested_absmax").asText()), nested.nestedAbsmax(), at + "nested absmax");
                    parts.put(W + Bnb4bitFormat.ABSMAX, tensor(arena, DType.U8, Shape.of(absmax.length), bytes(c.get("absmax").asText())));
                    parts.put(W + Bnb4bitFormat.NESTED_ABSMAX, tensor(arena, DType.F32, Shape.of(nested.nestedAbsmax().length),
                            bytes(c.get("nested_absmax").asText())));
                    parts.put(W + Bnb4bitFormat.NESTED_QUANT_MAP, tensor(arena, DType.F32, Shape.of(256), bytes(c.get("nested_quant_map").asText())));
                } else {
                    parts.put(W + Bnb4bitFormat.ABSMAX, tensor(arena, DType.F32, Shape.of(absmax.length), bytes(c.get("absmax_f32").asText())));
                }
                Nf4Tensor loaded = Nf4Tensor.fromBitsandbytes(parts, W);
                assertEquals(shape, loaded.shape(), at + "shape from the quant state");
                assertEquals(new String(json, StandardCharsets.UTF_8), Bnb4bitFormat.stateJson(loaded), at + "quant state JSON");
                Tensor deq = loaded.dequantize(arena);
                QuantChecks.assertBytesEqual(bytes(c.get("deq").asText()), deq.data().toArray(ValueLayout.JAVA_BYTE), at + "dequantized " + dt + " bytes");
            }
        }
    }
}
