package jlora.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Function;
import java.util.stream.IntStream;
import jlora.model.ModelConfig;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/**
 * Everything a LoRA run trains: an A/B pair per adapted linear layer and fp32 copies of the
 * modules trained in full (modules_to_save: norms, the embedding, an untied head). Memory comes
 * from the caller's arena.
 */
public final class LoraWeights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK = 1 << 14;

    private final LoraConfig config;
    private final List<LoraPair> pairs;
    private final SequencedMap<String, LoraPair> byPath;
    private final SequencedMap<String, Tensor> saved;
    private final boolean tiedEmbeddings;

    /**
     * @param saved modules_to_save weights by Hugging Face name (model.norm.weight, model.embed_tokens.weight ...), F32
     * @param tiedEmbeddings the model ties lm_head to embed_tokens (a trained table is then also the head)
     */
    public LoraWeights(LoraConfig config, List<LoraPair> pairs, SequencedMap<String, Tensor> saved, boolean tiedEmbeddings) {
        this.config = config;
        this.tiedEmbeddings = tiedEmbeddings;
        this.pairs = List.copyOf(pairs);
        SequencedMap<String, LoraPair> m = new LinkedHashMap<>();
        for (LoraPair p : pairs) {
            if (m.put(p.target().path(), p) != null) throw new IllegalArgumentException("two adapters for " + p.target().path());
        }
        this.byPath = Collections.unmodifiableSequencedMap(m);
        for (var e : saved.entrySet()) {
            if (e.getValue().dtype() != DType.F32) throw new IllegalArgumentException(e.getKey() + " must be F32");
        }
        this.saved = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(saved));
    }

    /**
     * A fresh adapter as PEFT initialises one (see {@link LoraInit}): A Kaiming-uniform from
     * (config.seed, module path), B zero; modules_to_save copied from {@code baseWeight} (name → tensor of
     * any float dtype), which may be null when the config trains no module in full. Runs on the common pool.
     */
    public static LoraWeights init(LoraConfig config, ModelConfig model, Arena arena, Function<String, Tensor> baseWeight) {
        return init(config, model, arena, baseWeight, ForkJoinPool.commonPool());
    }

    /**
     * As {@link #init(LoraConfig, ModelConfig, Arena, Function)}, filling A on {@code pool} when
     * {@code arena} is shared or automatic (a confined arena is filled on the calling thread); the
     * values are the same either way.
     */
    public static LoraWeights init(LoraConfig config, ModelConfig model, Arena arena, Function<String, Tensor> baseWeight,
                                   ForkJoinPool pool) {
        List<LoraTarget> targets = config.resolve(model);
        List<SavedModule> savedModules = config.resolveSaved(model);
        if (!savedModules.isEmpty() && baseWeight == null) {
            throw new IllegalArgumentException("the config trains modules in full; pass the base weights to copy them from");
        }
        LoraPair[] pairs = new LoraPair[targets.size()];
        for (int i = 0; i < pairs.length; i++) {
            LoraTarget t = targets.get(i);
            Tensor a = Tensor.allocate(DType.F32, jlora.tensor.Shape.of(t.rank(), t.inFeatures()), arena);
            Tensor b = Tensor.allocate(DType.F32, jlora.tensor.Shape.of(t.outFeatures(), t.rank()), arena); // zeros
            pairs[i] = new LoraPair(t, a, b);
        }
        // A confined arena's memory may only be touched by its owner thread: fill there instead.
        boolean shared = pairs.length > 0 && pairs[0].a().data().isAccessibleBy(Thread.ofVirtual().unstarted(() -> {}));
        if (shared) {
            pool.submit(() -> IntStream.range(0, pairs.length).parallel().forEach(i -> fillA(config.seed(), pairs[i]))).join();
        } else {
            for (LoraPair p : pairs) fillA(config.seed(), p);
        }

        SequencedMap<String, Tensor> saved = new LinkedHashMap<>();
        for (SavedModule m : savedModules) {
            Tensor src = baseWeight.apply(m.weightName());
            if (src == null || !src.shape().equals(m.shape())) {
                throw new IllegalArgumentException("base weight " + m.weightName() + " is " + src + ", expected " + m.shape());
            }
            Tensor copy = Tensor.allocate(DType.F32, m.shape(), arena);
            for (long i = 0; i < src.numel(); i++) copy.setFloat(i, src.getFloat(i));
            saved.put(m.weightName(), copy);
        }
        return new LoraWeights(config, List.of(pairs), saved, model.tieWordEmbeddings());
    }

    /** The name whose stream seeds A: PEFT's parameter name without the adapter name. */
    static String streamName(LoraTarget t) {
        return t.path() + ".lora_A.weight";
    }

    private static void fillA(long seed, LoraPair p) {
        LoraTarget t = p.target();
        long key = LoraInit.streamKey(seed, streamName(t));
        double bound = LoraInit.kaimingUniformBound(t.inFeatures(), LoraInit.PEFT_A);
        MemorySegment dst = p.a().data();
        long n = p.a().numel();
        float[] buf = new float[(int) Math.min(CHUNK, n)];
        for (long off = 0; off < n; off += buf.length) {
            int len = (int) Math.min(buf.length, n - off);
            float[] chunk = len == buf.length ? buf : new float[len];
            LoraInit.fillUniform(chunk, key, off, bound);
            MemorySegment.copy(chunk, 0, dst, F32, off * 4, len);
        }
    }

    public LoraConfig config() {
        return config;
    }

    /** Adapted layers in layer order. */
    public List<LoraPair> pairs() {
        return pairs;
    }

    /** The pair of the module at {@code path} (e.g. model.layers.0.self_attn.q_proj), or null. */
    public LoraPair pair(String path) {
        return byPath.get(path);
    }

    /** Weights trained in full (modules_to_save) by Hugging Face name; empty without any. */
    public SequencedMap<String, Tensor> saved() {
        return saved;
    }

    /** Whether the model ties lm_head to embed_tokens (a trained table is then the head too). */
    public boolean tiedEmbeddings() {
        return tiedEmbeddings;
    }

    /**
     * The trained replacement of base weight {@code name}, or null: a saved weight of that name,
     * or, for {@code lm_head.weight} of a model with {@code tied} embeddings, the trained
     * embedding (one table serves both).
     */
    public Tensor savedWeight(String name, boolean tied) {
        Tensor t = saved.get(name);
        if (t == null && tied && name.equals(LM_HEAD_WEIGHT)) t = saved.get(EMBED_WEIGHT);
        return t;
    }

    /** Hugging Face names of the embedding and output head weights. */
    public static final String EMBED_WEIGHT = "model.embed_tokens.weight", LM_HEAD_WEIGHT = "lm_head.weight";

    public long parameterCount() {
        long n = 0;
        for (LoraPair p : pairs) n += p.target().parameterCount();
        for (Tensor t : saved.values()) n += t.numel();
        return n;
    }

    /** Every trainable tensor by PEFT's parameter name (without "base_model.model."). */
    public Map<String, Tensor> named() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (LoraPair p : pairs) {
            out.put(p.target().path() + ".lora_A.weight", p.a());
            out.put(p.target().path() + ".lora_B.weight", p.b());
        }
        out.putAll(saved);
        return out;
    }
}
