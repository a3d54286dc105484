package jlora.quant;

import jlora.io.PythonJson;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * The safetensors entries of one NF4 weight in a bitsandbytes 4-bit checkpoint
 * ({@code QuantState.as_dict(packed=True)} in bitsandbytes {@code functional.py}, saved by
 * {@code Linear4bit._save_to_state_dict}):
 * <pre>
 *   W                                    U8  [ceil(n/2), 1]   packed nibbles
 *   W.absmax                             F32 [blocks]  (U8 [blocks] when double-quantized)
 *   W.quant_map                          F32 [16]      the NF4 code book
 *   W.nested_absmax                      F32 [ceil(blocks/256)]   (double quant only)
 *   W.nested_quant_map                   F32 [256]     the dynamic map (double quant only)
 *   W.quant_state.bitsandbytes__nf4      U8  [len]     UTF-8 JSON of the non-tensor fields:
 *     {"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [out, in],
 *      "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.0123}
 * </pre>
 * The JSON is {@code json.dumps} of a dict in that key order ({@code pack_dict_to_tensor} in
 * {@code bitsandbytes/utils.py}); the dtype strings are torch's names without {@code torch.}.
 */
public final class Bnb4bitFormat {
    private Bnb4bitFormat() {}

    public static final String ABSMAX = ".absmax";
    public static final String QUANT_MAP = ".quant_map";
    public static final String NESTED_ABSMAX = ".nested_absmax";
    public static final String NESTED_QUANT_MAP = ".nested_quant_map";
    public static final String QUANT_STATE_NF4 = ".quant_state.bitsandbytes__nf4";
    public static final String QUANT_STATE_FP4 = ".quant_state.bitsandbytes__fp4";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** True if {@code parts} holds a bitsandbytes 4-bit quant state for {@code weightName}. */
    public static boolean isQuantized(Map<String, Tensor> parts, String weightName) {
        return parts.containsKey(weightName + QUANT_STATE_NF4) || parts.containsKey(weightName + QUANT_STATE_FP4);
    }

    static Nf4Tensor read(Map<String, Tensor> parts, String w) {
        if (parts.containsKey(w + QUANT_STATE_FP4)) {
            throw new UserError("weight '" + w + "' is bitsandbytes FP4; jlora loads NF4 only: use a checkpoint quantized with bnb_4bit_quant_type=\"nf4\" or the unquantized model");
        }
        Tensor packed = need(parts, w, "", DType.U8);
        Tensor stateBlob = need(parts, w, QUANT_STATE_NF4, DType.U8);
        JsonNode state = parseState(w, stateBlob);

        String quantType = text(state, w, "quant_type");
        if (!quantType.equals("nf4")) throw bad(w, "quant_type is \"" + quantType + "\", expected \"nf4\"");
        int blocksize = integer(state, w, "blocksize");
        if (!validBlocksize(blocksize)) throw bad(w, "blocksize " + blocksize + " is not one bitsandbytes supports (32..4096, a power of two)");
        DType dtype = torchDtype(w, "dtype", text(state, w, "dtype"));
        Shape shape = shape(state, w);
        long n = shape.numel();
        long blocks = Math.ceilDiv(n, (long) blocksize);
        if (packed.numel() != Math.ceilDiv(n, 2L)) {
            throw bad(w, "the packed weight has " + packed.numel() + " bytes but shape " + shape + " needs " + Math.ceilDiv(n, 2L));
        }

        Tensor quantMap = need(parts, w, QUANT_MAP, DType.F32);
        checkNf4Map(w, quantMap);

        boolean nested = state.has("nested_offset") || parts.containsKey(w + NESTED_ABSMAX);
        Tensor absmax = need(parts, w, ABSMAX, nested ? DType.U8 : DType.F32);
        if (absmax.numel() != blocks) {
            throw bad(w, "'" + w + ABSMAX + "' has " + absmax.numel() + " values but " + n + " elements in blocks of " + blocksize + " need " + blocks);
        }
        Optional<Nf4Tensor.Nested> nestedState = Optional.empty();
        if (nested) {
            Tensor nestedAbsmax = need(parts, w, NESTED_ABSMAX, DType.F32);
            Tensor nestedMap = need(parts, w, NESTED_QUANT_MAP, DType.F32);
            if (nestedMap.numel() != 256) throw bad(w, "'" + w + NESTED_QUANT_MAP + "' has " + nestedMap.numel() + " values, expected 256");
            int nestedBlocksize = integer(state, w, "nested_blocksize");
            if (!validBlocksize(nestedBlocksize)) throw bad(w, "nested_blocksize " + nestedBlocksize + " is not supported");
            DType nestedDtype = torchDtype(w, "nested_dtype", text(state, w, "nested_dtype"));
            if (nestedDtype != DType.F32) throw bad(w, "nested_dtype is " + nestedDtype + ", expected float32");
            JsonNode off = state.get("nested_offset");
            if (off == null || !off.isNumber()) throw bad(w, "the quant state has no numeric \"nested_offset\"");
            long want = Math.ceilDiv(blocks, (long) nestedBlocksize);
            if (nestedAbsmax.numel() != want) {
                throw bad(w, "'" + w + NESTED_ABSMAX + "' has " + nestedAbsmax.numel() + " values, expected " + want);
            }
            // bitsandbytes stores offset.item() (an fp32 value printed as a double) and reads it back into fp32
            nestedState = Optional.of(new Nf4Tensor.Nested(nestedAbsmax, nestedMap, (float) off.doubleValue(), nestedBlocksize));
        }
        return new Nf4Tensor(packed, absmax, nestedState, shape, dtype, blocksize);
    }

    static Map<String, Tensor> write(Nf4Tensor t, String w, Arena arena) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put(w, t.packed().reshape(Shape.of(t.packed().numel(), 1)));
        out.put(w + ABSMAX, t.absmax());
        out.put(w + QUANT_MAP, Tensor.of(DType.F32, Shape.of(16), Nf4.codeBook(), arena));
        t.nested().ifPresent(n -> {
            out.put(w + NESTED_ABSMAX, n.nestedAbsmax());
            out.put(w + NESTED_QUANT_MAP, n.code());
        });
        byte[] json = stateJson(t).getBytes(StandardCharsets.UTF_8);
        Tensor blob = Tensor.allocate(DType.U8, Shape.of(json.length), arena);
        MemorySegment.copy(json, 0, blob.data(), ValueLayout.JAVA_BYTE, 0, json.length);
        out.put(w + QUANT_STATE_NF4, blob);
        return out;
    }

    /** The JSON text bitsandbytes packs into {@code quant_state.bitsandbytes__nf4}, byte for byte. */
    public static String stateJson(Nf4Tensor t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quant_type", "nf4");
        m.put("blocksize", t.blocksize());
        m.put("dtype", torchName(t.dtype()));
        List<Object> dims = new ArrayList<>();
        for (long d : t.shape().dims()) dims.add(d);
        m.put("shape", dims);
        t.nested().ifPresent(n -> {
            m.put("nested_blocksize", n.blocksize());
            m.put("nested_dtype", "float32");
            m.put("nested_offset", (double) n.offset());
        });
        return PythonJson.dumps(m);
    }

    static String torchName(DType t) {
        return switch (t) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
            default -> throw new IllegalArgumentException("no bitsandbytes dtype for " + t);
        };
    }

    private static DType torchDtype(String w, String field, String name) {
        return switch (name) {
            case "bfloat16" -> DType.BF16;
            case "float16" -> DType.F16;
            case "float32" -> DType.F32;
            default -> throw bad(w, "\"" + field + "\" is \"" + name + "\"; expected bfloat16, float16 or float32");
        };
    }

    private static Tensor need(Map<String, Tensor> parts, String w, String suffix, DType dtype) {
        Tensor t = parts.get(w + suffix);
        if (t == null) {
            throw new UserError("weight '" + w + "': missing '" + w + suffix + "', which a bitsandbytes 4-bit checkpoint stores beside it;"
                    + " the checkpoint is incomplete or not bnb-4bit: re-download it or load the unquantized model");
        }
        if (t.dtype() != dtype) {
            throw bad(w, "'" + w + suffix + "' is " + t.dtype() + ", expected " + dtype);
        }
        return t;
    }

    private static JsonNode parseState(String w, Tensor blob) {
        byte[] bytes = blob.data().toArray(ValueLayout.JAVA_BYTE);
        try {
            JsonNode node = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
            if (node == null || !node.isObject()) throw bad(w, "'" + w + QUANT_STATE_NF4 + "' is not a JSON object");
            return node;
        } catch (java.io.IOException e) {
            throw new UserError("weight '" + w + "': '" + w + QUANT_STATE_NF4 + "' is not valid JSON (" + e.getMessage()
                    + "); the checkpoint is corrupt: re-download it", e);
        }
    }

    private static String text(JsonNode state, String w, String field) {
        JsonNode v = state.get(field);
        if (v == null || !v.isTextual()) throw bad(w, "the quant state has no string \"" + field + "\"");
        return v.asText();
    }

    private static int integer(JsonNode state, String w, String field) {
        JsonNode v = state.get(field);
        if (v == null || !v.canConvertToInt()) throw bad(w, "the quant state has no integer \"" + field + "\"");
        return v.intValue();
    }

    private static Shape shape(JsonNode state, String w) {
        JsonNode v = state.get("shape");
        if (v == null || !v.isArray()) throw bad(w, "the quant state has no \"shape\" list");
        long[] dims = new long[v.size()];
        for (int i = 0; i < dims.length; i++) {
            if (!v.get(i).canConvertToLong() || v.get(i).longValue() < 0) throw bad(w, "\"shape\" " + v + " is not a list of sizes");
            dims[i] = v.get(i).longValue();
        }
        return Shape.of(dims);
    }

    private static void checkNf4Map(String w, Tensor quantMap) {
        if (quantMap.numel() != 16) throw bad(w, "'" + w + QUANT_MAP + "' has " + quantMap.numel() + " values, expected the 16 NF4 codes");
        // bitsandbytes' kernels use their built-in table and ignore this tensor, so a different one
        // means the file was not written by bitsandbytes' NF4 path
        for (int i = 0; i < 16; i++) {
            if (Float.floatToIntBits(quantMap.getFloat(i)) != Float.floatToIntBits(Nf4.code(i))) {
                throw bad(w, "'" + w + QUANT_MAP + "'[" + i + "] = " + quantMap.getFloat(i) + " is not the NF4 code " + Nf4.code(i));
            }
        }
    }

    private static boolean validBlocksize(int b) {
        return b >= 32 && b <= 4096 && Integer.bitCount(b) == 1;
    }

    private static UserError bad(String w, String what) {
        return new UserError("weight '" + w + "': " + what + "; the bitsandbytes 4-bit checkpoint is malformed: re-download or re-export it");
    }
}
