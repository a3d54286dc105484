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
    static final String EMBED_TOKENS = "model.embed_tokens";
    static final String LM_HEAD = "lm_head";

    record Linear(int layer, String module, String path, int in, int out) {}

    private final List<Linear> linears = new ArrayList<>();
    private final List<SavedModule> norms = new ArrayList<>();
    private final List<String> otherModules = new ArrayList<>();
    private final SavedModule embedding;
    private final SavedModule lmHead;
    private final boolean tied;

    ModelLayout(ModelConfig c) {
        tied = c.tieWordEmbeddings();
        embedding = new SavedModule(EMBED_TOKENS, Shape.of(c.vocabSize(), c.hiddenSize()));
        lmHead = tied ? null : new SavedModule(LM_HEAD, Shape.of(c.vocabSize(), c.hiddenSize()));
        int h = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), inter = c.intermediateSize();
        otherModules.add("model");
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
        if (tied) otherModules.add(LM_HEAD);
        otherModules.addAll(linears.stream().map(Linear::path).toList());
    }

    List<Linear> linears() {
        return linears;
    }

    /** RMSNorm modules in checkpoint order. */
    List<SavedModule> norms() {
        return norms;
    }

    /** Modules that are neither adaptable linears nor savable (containers, rotary, a tied head). */
    List<String> otherModules() {
        return otherModules;
    }

    String lmHeadPath() {
        return LM_HEAD;
    }

    /**
     * Every module modules_to_save may name, in checkpoint order: the embedding, the norms, and
     * an untied output head. A tied head is the embedding's table, so it is not listed apart.
     */
    List<SavedModule> savable() {
        List<SavedModule> out = new ArrayList<>();
        out.add(embedding);
        out.addAll(norms);
        if (lmHead != null) out.add(lmHead);
        return out;
    }

    boolean tied() {
        return tied;
    }

    /** The modules_to_save names that select the savable modules, see {@link SavedModule#peftName()}. */
    List<String> savableNames() {
        return savable().stream().map(SavedModule::peftName).distinct().toList();
    }
}
