package jlora.nn;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.backend.Backend;
import jlora.backend.DenseWeight;
import jlora.backend.LinearWeight;
import jlora.backend.LossSum;
import jlora.io.PeftAdapter;
import jlora.io.SafetensorsDir;
import jlora.model.ModelConfig;
import jlora.model.WeightMap;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * A decoder-only language model (Qwen2, Qwen3, Llama, Mistral: transformers' *ForCausalLM)
 * assembled from a Hugging Face directory, with an optional LoRA adapter whose A/B and
 * modules_to_save (RMSNorm weights, the embedding table, an untied head) are the only trainable
 * tensors. With tied embeddings the table is one parameter used twice, at the input and as the
 * head, and its gradient is the sum of both uses. Every numeric step goes
 * through the {@link Backend}; the model never asks which device it runs on.
 *
 * <p>Tokens are one flat row of {@code T}: packed documents follow each other and their
 * position ids restart at 0, which is how attention learns the document boundaries.
 */
public final class CausalLM implements AutoCloseable {
    private final ModelConfig config;
    private final Backend backend;
    private final Arena arena;
    private final SafetensorsDir weights;
    private final Embedding embedding;
    private final List<DecoderLayer> layers;
    private final RmsNorm finalNorm;
    private final LinearWeight lmHead;
    /** The head's table when it is trained (modules_to_save lm_head, or embed_tokens when tied), else null. */
    private final Tensor trainedHead;
    private final LoraWeights lora;
    private final Map<Tensor, Tensor> grads = new IdentityHashMap<>();
    private final Map<String, Tensor> gradsByName = new LinkedHashMap<>();
    private final int vocabChunk;
    private boolean gradientCheckpointing;

    private CausalLM(ModelConfig config, Backend backend, Arena arena, SafetensorsDir weights, Embedding embedding,
                     List<DecoderLayer> layers, RmsNorm finalNorm, LinearWeight lmHead, Tensor headTable, LoraWeights lora,
                     int vocabChunk) {
        this.config = config;
        this.backend = backend;
        this.arena = arena;
        this.weights = weights;
        this.embedding = embedding;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.lora = lora;
        this.vocabChunk = vocabChunk;
        if (lora != null) {
            List<Tensor> gs = backend.parameterGradients(List.copyOf(lora.named().values()), arena);
            int i = 0;
            for (var e : lora.named().entrySet()) {
                Tensor g = gs.get(i++);
                grads.put(e.getValue(), g);
                gradsByName.put(e.getKey(), g);
            }
        }
        // One gradient buffer per tensor: a tied table collects its embedding and head gradients in one sum.
        this.trainedHead = grads.containsKey(headTable) ? headTable : null;
    }

    /** Reads {@code dir} (config.json + safetensors) and builds the model on {@code backend}. */
    public static CausalLM load(Path dir, Backend backend, LoadOptions options) {
        ModelConfig c = ModelConfig.load(dir);
        if (c.quantMethod() != null && !c.quantMethod().equals("bitsandbytes")) {
            throw new UserError(c.source() + ": quantization_config.quant_method is '" + c.quantMethod()
                    + "'; jlora loads unquantized or bitsandbytes 4-bit (NF4) checkpoints only");
        }
        SafetensorsDir st = SafetensorsDir.open(dir);
        Arena arena = Arena.ofShared();
        try {
            Map<String, Shape> present = new LinkedHashMap<>();
            for (String n : st.names()) present.put(n, st.info(n).shape());
            c.weightMap().requireComplete(present, dir.toString());
            WeightLoader w = new WeightLoader(st, options, arena);

            LoraWeights lora = null;
            if (options.adapter() != null) lora = PeftAdapter.load(options.adapter(), c, arena).weights();
            else if (options.lora() != null) lora = LoraWeights.init(options.lora(), c, arena, w::vector);
            Map<String, Tensor> saved = lora == null ? Map.of() : lora.saved();
            float eps = (float) c.rmsNormEps();
            java.util.function.Function<String, RmsNorm> norm = name ->
                    new RmsNorm(saved.containsKey(name) ? saved.get(name) : w.vector(name), eps);

            // A trained embedding (modules_to_save) is the fp32 master itself, so updates are live;
            // a tied head is the same tensor, so both uses of the table see each update.
            Tensor table = saved.containsKey(LoraWeights.EMBED_WEIGHT) ? saved.get(LoraWeights.EMBED_WEIGHT)
                    : w.dense(LoraWeights.EMBED_WEIGHT);
            List<DecoderLayer> layers = new ArrayList<>();
            int module = 0;
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                String p = "model.layers." + i + ".";
                LoraLinear[] lin = new LoraLinear[WeightMap.LINEAR_MODULES.size()];
                for (int m = 0; m < lin.length; m++) {
                    String mod = WeightMap.LINEAR_MODULES.get(m);
                    String path = p + (m < 4 ? "self_attn." : "mlp.") + mod;
                    LoraPair pair = lora == null ? null : lora.pair(path);
                    float dropout = lora == null ? 0f : (float) lora.config().loraDropout();
                    long seed = lora == null ? 0L : lora.config().seed();
                    lin[m] = new LoraLinear(path, module++, w.linear(path + ".weight"), w.optionalVector(path + ".bias"),
                            pair, dropout, seed);
                }
                RmsNorm qNorm = c.qkNorm() ? norm.apply(p + "self_attn.q_norm.weight") : null;
                RmsNorm kNorm = c.qkNorm() ? norm.apply(p + "self_attn.k_norm.weight") : null;
                Attention att = new Attention(lin[0], lin[1], lin[2], lin[3], qNorm, kNorm, c.numAttentionHeads(),
                        c.numKeyValueHeads(), c.headDim(), i, c.slidingWindow(i));
                layers.add(new DecoderLayer(i, norm.apply(p + "input_layernorm.weight"), att,
                        norm.apply(p + "post_attention_layernorm.weight"), new Mlp(lin[4], lin[5], lin[6])));
            }
            RmsNorm finalNorm = norm.apply("model.norm.weight");
            Tensor headTable = c.tieWordEmbeddings() ? table : saved.containsKey(LoraWeights.LM_HEAD_WEIGHT)
                    ? saved.get(LoraWeights.LM_HEAD_WEIGHT) : w.dense(LoraWeights.LM_HEAD_WEIGHT);
            return new CausalLM(c, backend, arena, st, new Embedding(table), layers, finalNorm, new DenseWeight(headTable),
                    headTable, lora, options.vocabChunk());
        } catch (RuntimeException e) {
            arena.close();
            st.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public List<DecoderLayer> layers() {
        return layers;
    }

    // The modules generation's KV-cache forward (jlora.infer.CausalLmDecoder) walks itself.

    public Backend backend() {
        return backend;
    }

    public Embedding embedding() {
        return embedding;
    }

    public RmsNorm finalNorm() {
        return finalNorm;
    }

    public LinearWeight lmHead() {
        return lmHead;
    }

    /** The adapter (null without LoRA); its tensors are the live fp32 masters the model computes with. */
    public LoraWeights lora() {
        return lora;
    }

    /** Gradient buffers by PEFT parameter name (as {@link LoraWeights#named()}), accumulated by backward. */
    public Map<String, Tensor> gradients() {
        return java.util.Collections.unmodifiableMap(gradsByName);
    }

    public void zeroGradients() {
        for (Tensor g : grads.values()) backend.zero(g);
    }

    /** Keep only each decoder layer's input in the forward and recompute the layer in backward. */
    public void gradientCheckpointing(boolean on) {
        gradientCheckpointing = on;
    }

    /**
     * Logits {@code [T, V]} row-major for every position, or {@code [V]} for the last one only
     * (what generation needs). No dropout, nothing recorded.
     */
    public float[] forward(int[] ids, int[] positionIds, boolean allPositions) {
        try (Tape tape = new Tape(backend)) {
            Pass pass = pass(tape, ids, positionIds, false, 0);
            Tensor h = hidden(tape, ids, pass);
            int d = config.hiddenSize(), v = config.vocabSize();
            if (!allPositions) {
                long t = ids.length;
                h = h.view((t - 1) * d, Shape.of(1, d));
            }
            Tensor logits = tape.allocate(h.shape().dim(0), v);
            backend.linear(h, lmHead, null, logits);
            if (logits.isHost()) return logits.toFloatArray();
            try (Arena host = Arena.ofConfined()) {
                Tensor copy = Tensor.allocate(DType.F32, logits.shape(), host);
                backend.copy(logits, copy);
                return copy.toFloatArray();
            }
        }
    }

    /** Logits of the last position. */
    public float[] forward(int[] ids, int[] positionIds) {
        return forward(ids, positionIds, false);
    }

    /**
     * The summed next-token cross-entropy and the number of counted tokens, recorded on
     * {@code tape} (which gets this model's trainable tensors registered). {@code labels} are
     * aligned with {@code ids} as in transformers: the logits at t are scored against
     * labels[t + 1], and {@link Backend#IGNORE_INDEX} labels do not count (packed documents set
     * the first label of each document to it so no token predicts across a boundary). Then
     * {@code tape.backward(1f / count)} adds the gradient of the mean to {@link #gradients()}.
     *
     * @param step the optimizer step, which seeds LoRA dropout
     */
    public LossSum loss(int[] ids, int[] positionIds, int[] labels, Tape tape, long step) {
        return loss(ids, positionIds, labels, tape, step, true);
    }

    /**
     * As {@link #loss(int[], int[], int[], Tape, long)}; {@code training} false is the eval pass:
     * no LoRA dropout (PyTorch's model.eval()), same sums otherwise.
     */
    public LossSum loss(int[] ids, int[] positionIds, int[] labels, Tape tape, long step, boolean training) {
        if (labels.length != ids.length) {
            throw new IllegalArgumentException(labels.length + " labels for " + ids.length + " tokens");
        }
        for (var e : grads.entrySet()) tape.trainable(e.getKey(), e.getValue());
        Pass pass = pass(tape, ids, positionIds, training, step);
        Tensor h = hidden(tape, ids, pass);
        int[] shifted = new int[ids.length];
        for (int t = 0; t < ids.length; t++) shifted[t] = t + 1 < ids.length ? labels[t + 1] : Backend.IGNORE_INDEX;
        for (int y : shifted) {
            if (y != Backend.IGNORE_INDEX && (y < 0 || y >= config.vocabSize())) {
                throw new IllegalArgumentException("label " + y + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        return Ops.crossEntropy(tape, h, lmHead, trainedHead, ints(tape, shifted), vocabChunk);
    }

    public LossSum loss(int[] ids, int[] positionIds, int[] labels, Tape tape) {
        return loss(ids, positionIds, labels, tape, 0);
    }

    /** The final-normed hidden states {@code [T, D]}. */
    private Tensor hidden(Tape tape, int[] ids, Pass pass) {
        Tensor x = embedding.forward(tape, ints(tape, ids));
        boolean checkpoint = gradientCheckpointing && !grads.isEmpty() && pass.training();
        for (DecoderLayer layer : layers) {
            if (checkpoint) {
                x = tape.checkpoint("layer" + layer.index(), List.of(x), (t, in) -> layer.forward(t, in.getFirst(), pass));
            } else {
                x = layer.forward(tape, x, pass);
            }
        }
        return finalNorm.forward(tape, x);
    }

    private Pass pass(Tape tape, int[] ids, int[] positions, boolean training, long step) {
        if (ids.length == 0) throw new IllegalArgumentException("no tokens");
        if (positions.length != ids.length) {
            throw new IllegalArgumentException(positions.length + " position ids for " + ids.length + " tokens");
        }
        int maxPos = 0;
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[t] + " at " + t + " outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
            if (positions[t] < 0) throw new IllegalArgumentException("negative position id at " + t);
            maxPos = Math.max(maxPos, positions[t]);
        }
        int[] seg = Backend.segmentIdsFromPositions(positions);
        int longest = 0;
        for (int t = 0, start = 0; t <= seg.length; t++) {
            if (t == seg.length || seg[t] != seg[start]) {
                longest = Math.max(longest, t - start);
                start = t;
            }
        }
        double[] inv = config.ropeInverseFrequencies(maxPos + 1);
        float[] invF = new float[inv.length];
        for (int i = 0; i < inv.length; i++) invF[i] = (float) inv[i];
        return new Pass(ints(tape, positions), ints(tape, seg), invF, (float) config.ropeScaling().attentionScaling(),
                longest, training, step);
    }

    private static Tensor ints(Tape tape, int[] v) {
        return tape.ints(v);
    }

    @Override
    public void close() {
        arena.close();
        weights.close();
    }
}
