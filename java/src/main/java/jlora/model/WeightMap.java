package jlora.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import jlora.UserError;
import jlora.tensor.Shape;

/**
 * The Hugging Face parameter names of a model and the shapes its config implies, in layer
 * order. Linear weights are stored as PyTorch's nn.Linear does: {@code [out_features, in_features]}.
 * A tied model has no {@code lm_head.weight}: the head reuses {@code model.embed_tokens.weight}.
 */
public final class WeightMap {
    /** The seven linear projections of a decoder layer, as PEFT's target_modules names them. */
    public static final List<String> LINEAR_MODULES =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    /**
     * Tensors bitsandbytes saves beside a pre-quantized 4-bit weight W (as "W.absmax" ...):
     * the per-block absmax, the code book, their double-quant counterparts, and the packed
     * QuantState. They belong to W; W itself then holds packed uint8 pairs, not its logical shape.
     */
    static final List<String> BNB_4BIT_SUFFIXES = List.of(".absmax", ".quant_map", ".nested_absmax",
            ".nested_quant_map", ".quant_state.bitsandbytes__nf4", ".quant_state.bitsandbytes__fp4");

    /** How many problems {@link #requireComplete} spells out before it only counts. */
    static final int MAX_LISTED = 8;

    private final ModelConfig config;
    private final Map<String, Shape> expected;

    private WeightMap(ModelConfig config, Map<String, Shape> expected) {
        this.config = config;
        this.expected = Collections.unmodifiableMap(expected);
    }

    public static WeightMap of(ModelConfig c) {
        Map<String, Shape> m = new LinkedHashMap<>();
        long h = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), inter = c.intermediateSize();
        m.put("model.embed_tokens.weight", Shape.of(c.vocabSize(), h));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            m.put(p + "input_layernorm.weight", Shape.of(h));
            linear(m, p + "self_attn.q_proj", q, h, c.qkvBias());
            linear(m, p + "self_attn.k_proj", kv, h, c.qkvBias());
            linear(m, p + "self_attn.v_proj", kv, h, c.qkvBias());
            linear(m, p + "self_attn.o_proj", h, q, c.oProjBias());
            if (c.qkNorm()) {
                m.put(p + "self_attn.q_norm.weight", Shape.of(c.headDim()));
                m.put(p + "self_attn.k_norm.weight", Shape.of(c.headDim()));
            }
            m.put(p + "post_attention_layernorm.weight", Shape.of(h));
            linear(m, p + "mlp.gate_proj", inter, h, c.mlpBias());
            linear(m, p + "mlp.up_proj", inter, h, c.mlpBias());
            linear(m, p + "mlp.down_proj", h, inter, c.mlpBias());
        }
        m.put("model.norm.weight", Shape.of(h));
        if (!c.tieWordEmbeddings()) m.put("lm_head.weight", Shape.of(c.vocabSize(), h));
        return new WeightMap(c, m);
    }

    private static void linear(Map<String, Shape> m, String name, long out, long in, boolean bias) {
        m.put(name + ".weight", Shape.of(out, in));
        if (bias) m.put(name + ".bias", Shape.of(out));
    }

    public ModelConfig config() {
        return config;
    }

    /** Name → shape, in checkpoint order (embedding, layers 0..n-1, final norm, head). */
    public Map<String, Shape> expected() {
        return expected;
    }

    /** Compares the tensors a checkpoint holds (name → shape) with what the config implies. */
    public WeightCheck check(Map<String, Shape> present) {
        List<String> missing = new ArrayList<>();
        List<WeightCheck.Mismatch> misShaped = new ArrayList<>();
        Set<String> quantized = new LinkedHashSet<>();
        Set<String> unexpected = new TreeSet<>(WeightMap::naturalOrder);

        for (String name : present.keySet()) {
            String owner = bnbOwner(name);
            if (owner != null && expected.containsKey(owner)) {
                quantized.add(owner);
            } else if (!expected.containsKey(name) && !harmless(name, present.get(name))) {
                unexpected.add(name);
            }
        }
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            String name = e.getKey();
            Shape want = e.getValue();
            Shape found = present.get(name);
            if (found == null) {
                missing.add(name);
            } else if (quantized.contains(name)) {
                // bitsandbytes packs two 4-bit codes per uint8, as a [ceil(n/2), 1] tensor.
                if (found.numel() != Math.ceilDiv(want.numel(), 2)) {
                    misShaped.add(new WeightCheck.Mismatch(name, want, found, true));
                }
            } else if (!found.equals(want)) {
                misShaped.add(new WeightCheck.Mismatch(name, want, found, false));
            }
        }
        return new WeightCheck(missing, misShaped, List.copyOf(unexpected), List.copyOf(quantized));
    }

    /**
     * Throws one {@link UserError} naming every problem (up to {@link #MAX_LISTED}, then a
     * count) if the checkpoint does not match; {@code where} names the model directory.
     */
    public WeightCheck requireComplete(Map<String, Shape> present, String where) {
        WeightCheck r = check(present);
        if (r.complete()) return r;
        List<String> lines = r.problems();
        StringBuilder sb = new StringBuilder();
        sb.append("The weights in ").append(where).append(" do not match config.json (")
                .append(config.modelType().id).append(", ").append(config.numHiddenLayers()).append(" layers, hidden ")
                .append(config.hiddenSize()).append("): ").append(r.summary()).append(": ");
        for (int i = 0; i < Math.min(lines.size(), MAX_LISTED); i++) {
            if (i > 0) sb.append("; ");
            sb.append(lines.get(i));
        }
        if (lines.size() > MAX_LISTED) sb.append("; and ").append(lines.size() - MAX_LISTED).append(" more");
        sb.append(". Check that config.json and the *.safetensors files come from the same model.");
        throw new UserError(sb.toString());
    }

    /** The weight a bitsandbytes quant-state tensor belongs to, or null. */
    static String bnbOwner(String name) {
        for (String s : BNB_4BIT_SUFFIXES) {
            if (name.endsWith(s) && name.length() > s.length()) return name.substring(0, name.length() - s.length());
        }
        return null;
    }

    /**
     * Tensors transformers ignores when loading: the RoPE inv_freq buffer that older Llama
     * checkpoints saved, and an lm_head.weight that a tied model also stores (when it has the
     * embedding's shape; tying overwrites it).
     */
    private boolean harmless(String name, Shape shape) {
        if (name.endsWith(".rotary_emb.inv_freq")) return true;
        return name.equals("lm_head.weight") && config.tieWordEmbeddings()
                && shape.equals(Shape.of(config.vocabSize(), config.hiddenSize()));
    }

    /** Orders "model.layers.10.x" after "model.layers.9.x", comparing digit runs as numbers. */
    static int naturalOrder(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            char ca = a.charAt(i), cb = b.charAt(j);
            if (Character.isDigit(ca) && Character.isDigit(cb)) {
                int si = i, sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) i++;
                while (j < b.length() && Character.isDigit(b.charAt(j))) j++;
                String na = a.substring(si, i).replaceFirst("^0+(?=.)", "");
                String nb = b.substring(sj, j).replaceFirst("^0+(?=.)", "");
                int c = na.length() != nb.length() ? Integer.compare(na.length(), nb.length()) : na.compareTo(nb);
                if (c != 0) return c;
            } else {
                if (ca != cb) return Character.compare(ca, cb);
                i++;
                j++;
            }
        }
        int c = Integer.compare(a.length() - i, b.length() - j);
        return c != 0 ? c : a.compareTo(b);
    }
}
