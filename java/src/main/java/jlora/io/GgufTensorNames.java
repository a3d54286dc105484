package jlora.io;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jlora.UserError;

/** Hugging Face parameter names → llama.cpp's GGUF tensor names (gguf-py tensor_mapping.py). */
final class GgufTensorNames {
    private GgufTensorNames() {}

    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");

    private static final Map<String, String> IN_LAYER = Map.ofEntries(
            Map.entry("input_layernorm.weight", "attn_norm.weight"),
            Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
            Map.entry("self_attn.q_proj.bias", "attn_q.bias"),
            Map.entry("self_attn.k_proj.weight", "attn_k.weight"),
            Map.entry("self_attn.k_proj.bias", "attn_k.bias"),
            Map.entry("self_attn.v_proj.weight", "attn_v.weight"),
            Map.entry("self_attn.v_proj.bias", "attn_v.bias"),
            Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
            Map.entry("self_attn.o_proj.bias", "attn_output.bias"),
            Map.entry("self_attn.q_norm.weight", "attn_q_norm.weight"),
            Map.entry("self_attn.k_norm.weight", "attn_k_norm.weight"),
            Map.entry("post_attention_layernorm.weight", "ffn_norm.weight"),
            Map.entry("mlp.gate_proj.weight", "ffn_gate.weight"),
            Map.entry("mlp.gate_proj.bias", "ffn_gate.bias"),
            Map.entry("mlp.up_proj.weight", "ffn_up.weight"),
            Map.entry("mlp.up_proj.bias", "ffn_up.bias"),
            Map.entry("mlp.down_proj.weight", "ffn_down.weight"),
            Map.entry("mlp.down_proj.bias", "ffn_down.bias"));

    static String of(String hf) {
        switch (hf) {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
            default: break;
        }
        Matcher m = LAYER.matcher(hf);
        if (m.matches() && IN_LAYER.containsKey(m.group(2))) return "blk." + m.group(1) + "." + IN_LAYER.get(m.group(2));
        throw new UserError("tensor " + hf + " has no GGUF name; GGUF export knows the llama/qwen2/qwen3/mistral layers");
    }

    /** The block index of a layer tensor, else -1. */
    static int layer(String hf) {
        Matcher m = LAYER.matcher(hf);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }
}
