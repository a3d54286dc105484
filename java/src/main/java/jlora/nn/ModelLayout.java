package jlora.nn;

import java.util.ArrayList;
import java.util.List;
import jlora.model.ModelConfig;
import jlora.model.WeightMap;
import jlora.tensor.Shape;

/**
 * The module paths of a decoder-only model as transformers names them (named_modules of the
 * *ForCausalLM), which is what PEFT's target_modules, layers_to_transform and modules_to_save
 * match against, with each linear layer's [out, in] features.
 */
final class ModelLayout {
    static final List<String> LINEAR_MODULES = WeightMap.LINEAR_MODULES;

    record Linear(int layer, String module, String path, int in, int out) {}

    private final List<Linear> linears = new ArrayList<>();
    private final List<SavedModule> norms = new ArrayList<>();
    private final List<String> otherModules = new ArrayList<>();

    ModelLayout(ModelConfig c) {
        int h = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), inter = c.intermediateSize();
        otherModules.add("model");
        otherModules.add("model.embed_tokens");
        otherModules.add("model.layers");
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i;
            otherModules.add(p);
            otherModules.add(p + ".self_attn");
            otherModules.add(p + ".mlp");
            otherModules.add(p + ".self_attn.rotary_emb");
            linears.add(new Linear(i, "q_proj", p + ".self_attn.q_proj", h, q));
            linears.add(new Linear(i, "k_proj", p + ".self_attn.k_proj", h, kv));
            linears.add(new Linear(i, "v_proj", p + ".self_attn.v_proj", h, kv));
            linears.add(new Linear(i, "o_proj", p + ".self_attn.o_proj", q, h));
            linears.add(new Linear(i, "gate_proj", p + ".mlp.gate_proj", h, inter));
            linears.add(new Linear(i, "up_proj", p + ".mlp.up_proj", h, inter));
            linears.add(new Linear(i, "down_proj", p + ".mlp.down_proj", inter, h));
            norms.add(new SavedModule(p + ".input_layernorm", Shape.of(h)));
            if (c.qkNorm()) {
                norms.add(new SavedModule(p + ".self_attn.q_norm", Shape.of(c.headDim())));
                norms.add(new SavedModule(p + ".self_attn.k_norm", Shape.of(c.headDim())));
            }
            norms.add(new SavedModule(p + ".post_attention_layernorm", Shape.of(h)));
        }
        norms.add(new SavedModule("model.norm", Shape.of(h)));
        otherModules.add(lmHeadPath());
        otherModules.addAll(linears.stream().map(Linear::path).toList());
    }

    List<Linear> linears() {
        return linears;
    }

    /** RMSNorm modules in checkpoint order. */
    List<SavedModule> norms() {
        return norms;
    }

    /** Modules that are neither adaptable linears nor norms (embedding, head, containers). */
    List<String> otherModules() {
        return otherModules;
    }

    String lmHeadPath() {
        return "lm_head";
    }

    /** The modules_to_save names that select the norms, see {@link SavedModule#peftName()}. */
    List<String> normNames() {
        return norms.stream().map(SavedModule::peftName).distinct().toList();
    }
}
