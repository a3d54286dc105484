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
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * JSON. bitsandbytes is built with {@code --use_fast_math}, so its {@code 1.0f / absmax} may not be
 * correctly rounded: the quantize check tries jlora's IEEE reciprocal and each GPU reciprocal
 * table the generator captured, and says which reproduces the bytes. Skipped, saying so, when
 * the golden files have not been generated.
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
                assertEquals(DynamicMap.LinspaceKernel.SCALAR, k, "bitsandbytes' dynamic map (torch " + m.path("torch").asText()
                        + ", cpu_capability " + m.path("cpu_capability").asText() + ") matches torch's old " + k
                        + " linspace, not the scalar loop jlora defaults to");
                return;
            }
            tried.append(k).append(": ").append(diff).append(" entries differ; ");
        }
        fail("bitsandbytes' create_dynamic_map(signed=True) from the golden file matches no linspace kernel: " + tried);
    }

    /**
     * Quantizes every case with {@code rcp} as the block scale and returns the first difference
     * from bitsandbytes' bytes (with a count), or null if all packed bytes, absmax, nested codes
     * and nested absmax are identical.
     */
    private static String quantizeMismatch(JsonNode m, Reciprocal rcp) throws IOException {
        for (JsonNode c : m.get("cases")) {
            String name = c.get("name").asText();
            DType dt = dtype(c.get("dtype").asText());
            Shape shape = Shape.of(longs(c.get("shape")));
            int blocksize = c.get("blocksize").asInt();
            try (Arena arena = Arena.ofConfined()) {
                Tensor x = tensor(arena, dt, shape, bytes(c.get("x").asText()));
                Nf4Tensor ours = Nf4Tensor.quantize(x, blocksize, false, rcp, arena);
                byte[] want = bytes(c.get("packed").asText());
                byte[] got = ours.packedBytes();
                int diff = 0, first = -1;
                for (long i = 0; i < shape.numel(); i++) {
                    if (Nf4.nibble(want, i) != Nf4.nibble(got, i)) {
                        diff++;
                        if (first < 0) first = (int) i;
                    }
                }
                if (diff > 0) {
                    float[] xs = x.toFloatArray();
                    float a = ours.absmaxF32()[first / blocksize];
                    return name + ": " + diff + " of " + shape.numel() + " codes differ; first element " + first + " x=" + xs[first]
                            + " absmax=" + a + " x*scale=" + xs[first] * rcp.of(a) + " ours " + Nf4.nibble(got, first) + " bitsandbytes "
                            + Nf4.nibble(want, first);
                }
                float[] absmax = f32(c.get("absmax_f32").asText());
                float[] ourAbsmax = ours.absmaxF32();
                for (int b = 0; b < absmax.length; b++) {
                    if (Float.floatToIntBits(absmax[b]) != Float.floatToIntBits(ourAbsmax[b])) {
                        return name + ": absmax " + b + " ours " + ourAbsmax[b] + " bitsandbytes " + absmax[b];
                    }
                }
                if (c.get("double_quant").asBoolean()) {
                    float offset = Float.intBitsToFloat((int) c.get("offset_bits").asLong());
                    DoubleQuant.Nested nested = DoubleQuant.quantize(absmax, f32(c.get("nested_quant_map").asText()), offset, rcp);
                    byte[] wantQ = bytes(c.get("absmax").asText());
                    for (int i = 0; i < wantQ.length; i++) {
                        if (wantQ[i] != nested.q()[i]) {
                            return name + ": double-quantized absmax code " + i + " ours " + (nested.q()[i] & 0xFF) + " bitsandbytes " + (wantQ[i] & 0xFF);
                        }
                    }
                    float[] wantNested = f32(c.get("nested_absmax").asText());
                    for (int i = 0; i < wantNested.length; i++) {
                        if (Float.floatToIntBits(wantNested[i]) != Float.floatToIntBits(nested.nestedAbsmax()[i])) {
                            return name + ": nested absmax " + i + " ours " + nested.nestedAbsmax()[i] + " bitsandbytes " + wantNested[i];
                        }
                    }
                }
            }
        }
        return null;
    }

    @Test
    void quantizedBytesAreIdenticalForSomeReciprocalAndIeeeIsTheDefault() throws IOException {
        JsonNode m = manifest();
        Map<String, Reciprocal> candidates = new LinkedHashMap<>();
        candidates.put("IEEE", Reciprocal.IEEE);
        for (Map.Entry<String, JsonNode> e : m.path("reciprocals").properties()) {
            float[] t = f32(e.getValue().asText());
            for (int k = 0; k < 1024; k++) {
                // the table is only valid if the instruction is exponent-invariant, as ReciprocalTable assumes
                assertEquals(Float.floatToIntBits(Math.scalb(t[k], 7)), Float.floatToIntBits(t[1024 + k]), e.getKey() + " scale invariance at " + k);
            }
            candidates.put(e.getKey(), new ReciprocalTable(Arrays.copyOf(t, 1024)));
        }
        StringBuilder report = new StringBuilder();
        String matched = null;
        for (Map.Entry<String, Reciprocal> c : candidates.entrySet()) {
            String mismatch = quantizeMismatch(m, c.getValue());
            if (mismatch == null && matched == null) matched = c.getKey();
            report.append(c.getKey()).append(": ").append(mismatch == null ? "identical" : mismatch).append("\n");
        }
        System.out.println("NF4 golden (bitsandbytes " + m.path("bitsandbytes").asText() + "):\n" + report);
        assertTrue(matched != null, "no reciprocal reproduces bitsandbytes' quantized bytes:\n" + report);
        assertEquals("IEEE", matched, "bitsandbytes' bytes need the " + matched + " reciprocal, not jlora's default IEEE one:"
                + " make that table jlora's default (see ReciprocalTable)\n" + report);
    }

    @Test
    void checkpointPartsLoadToIdenticalDequantizedValuesAndJson() throws IOException {
        JsonNode m = manifest();
        for (JsonNode c : m.get("cases")) {
            String name = c.get("name").asText();
            String at = "golden case " + name + " (bitsandbytes " + m.path("bitsandbytes").asText() + "): ";
            DType dt = dtype(c.get("dtype").asText());
            Shape shape = Shape.of(longs(c.get("shape")));
            try (Arena arena = Arena.ofConfined()) {
                QuantChecks.assertBitsEqual(f32(c.get("quant_map").asText()), Nf4.codeBook(), at + "quant_map");
                float[] absmax = f32(c.get("absmax_f32").asText());
                Map<String, Tensor> parts = new HashMap<>();
                parts.put(W, tensor(arena, DType.U8, Shape.of(longs(c.get("packed_shape"))), bytes(c.get("packed").asText())));
                parts.put(W + Bnb4bitFormat.QUANT_MAP, tensor(arena, DType.F32, Shape.of(16), bytes(c.get("quant_map").asText())));
                byte[] json = bytes(c.get("quant_state").asText());
                parts.put(W + Bnb4bitFormat.QUANT_STATE_NF4, tensor(arena, DType.U8, Shape.of(json.length), json));
                if (c.get("double_quant").asBoolean()) {
                    float offset = Float.intBitsToFloat((int) c.get("offset_bits").asLong());
                    // bitsandbytes' offset is torch's fp32 tree-summed mean on the GPU; ours is the correctly
                    // rounded mean, so they agree to a few ulps (the bytes above are checked with theirs)
                    float ourOffset = DoubleQuant.mean(absmax);
                    assertTrue(Math.abs(ourOffset - offset) <= 8 * Math.ulp(offset), at + "offset " + ourOffset + " vs " + offset);
                    float[] nested = f32(c.get("nested_absmax").asText());
                    parts.put(W + Bnb4bitFormat.ABSMAX, tensor(arena, DType.U8, Shape.of(absmax.length), bytes(c.get("absmax").asText())));
                    parts.put(W + Bnb4bitFormat.NESTED_ABSMAX, tensor(arena, DType.F32, Shape.of(nested.length), bytes(c.get("nested_absmax").asText())));
                    parts.put(W + Bnb4bitFormat.NESTED_QUANT_MAP, tensor(arena, DType.F32, Shape.of(256), bytes(c.get("nested_quant_map").asText())));
                } else {
                    parts.put(W + Bnb4bitFormat.ABSMAX, tensor(arena, DType.F32, Shape.of(absmax.length), bytes(c.get("absmax_f32").asText())));
                }
                Nf4Tensor loaded = Nf4Tensor.fromBitsandbytes(parts, W);
                assertEquals(shape, loaded.shape(), at + "shape from the quant state");
                assertEquals(dt, loaded.dtype(), at + "dtype from the quant state");
                assertEquals(new String(json, StandardCharsets.UTF_8), Bnb4bitFormat.stateJson(loaded), at + "quant state JSON");
                Tensor deq = loaded.dequantize(arena);
                QuantChecks.assertBytesEqual(bytes(c.get("deq").asText()), deq.data().toArray(ValueLayout.JAVA_BYTE), at + "dequantized " + dt + " bytes");
            }
        }
    }
}
