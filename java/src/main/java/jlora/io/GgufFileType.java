package jlora.io;

import java.util.Locale;
import jlora.UserError;
import jlora.quant.GgmlType;

/**
 * The tensor-type mixtures `jlora export gguf --type` offers, with llama.cpp's
 * {@code llama_ftype} ids for {@code general.file_type}.
 *
 * <p>f32/f16/bf16/q8_0 follow convert_hf_to_gguf.py's --outtype: every 2-D weight in that type
 * (q8_0 rows that are not whole blocks stay f16), 1-D tensors (norms, biases) f32.
 * q4_k_m follows llama.cpp's {@code llama_tensor_get_type} for LLAMA_FTYPE_MOSTLY_Q4_K_M:
 * Q4_K by default; Q6_K for the output head (the tied embedding when there is no head),
 * for attn_v and ffn_down in the layers {@code use_more_bits} picks (the first and last
 * eighth and every third between); rows that are not whole 256-blocks fall back as
 * llama.cpp's quantizer does (Q4_K → Q5_0, Q6_K → Q8_0).
 */
public enum GgufFileType {
    F32(0), F16(1), BF16(32), Q8_0(7), Q4_K_M(15);

    public final int llamaFtype;

    GgufFileType(int llamaFtype) {
        this.llamaFtype = llamaFtype;
    }

    public static GgufFileType parse(String s) {
        for (GgufFileType t : values()) if (t.name().equalsIgnoreCase(s)) return t;
        throw new UserError("unknown GGUF type '" + s + "'; use one of f32, f16, bf16, q8_0, q4_k_m");
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The type of one tensor.
     *
     * @param ggufName the GGUF tensor name (blk.N.attn_v.weight ...)
     * @param shape row-major shape
     * @param layer the block index, or -1 outside the blocks
     * @param layers block count
     * @param treatAsOutput this tensor is the output head (output.weight, or a tied token_embd)
     */
    public GgmlType tensorType(String ggufName, long[] shape, int layer, int layers, boolean treatAsOutput) {
        if (shape.length < 2) return GgmlType.F32;
        long row = shape[shape.length - 1];
        GgmlType t = switch (this) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            case Q8_0 -> row % 32 == 0 ? GgmlType.Q8_0 : GgmlType.F16;
            case Q4_K_M -> {
                GgmlType k = GgmlType.Q4_K;
                if (treatAsOutput) k = GgmlType.Q6_K;
                else if ((ggufName.endsWith("attn_v.weight") || ggufName.endsWith("ffn_down.weight"))
                        && useMoreBits(layer, layers)) k = GgmlType.Q6_K;
                yield fallback(k, row);
            }
        };
        return t;
    }

    /** llama-quant.cpp use_more_bits: the first and last eighth of the layers and every third one between. */
    static boolean useMoreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    private static GgmlType fallback(GgmlType k, long row) {
        if (row % 256 == 0) return k;
        GgmlType f = k == GgmlType.Q6_K ? GgmlType.Q8_0 : GgmlType.Q5_0;
        return row % 32 == 0 ? f : GgmlType.F16;
    }
}
