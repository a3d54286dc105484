package jlora.infer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jlora.autograd.Ops;
import jlora.autograd.Tape;
import jlora.model.ModelConfig;
import jlora.nn.Attention;
import jlora.nn.CausalLM;
import jlora.nn.DecoderLayer;
import jlora.nn.Pass;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * The KV-cache forward of a {@link CausalLM}: the same modules as {@link CausalLM#forward}
 * (embedding, pre-norm layers, q/k/v with LoRA unmerged, Qwen3 q/k norms, final norm, head),
 * but each step only runs the new tokens. Their keys and values (after RoPE at their absolute
 * positions {@code cache.length() + i}) are appended to the cache, and each new query attends
 * causally over every cached row. The first prefill of an empty cache uses the backend's
 * attention op (one document, causal); later steps use {@link #attendCached}, a plain fp32
 * loop over the cache on the host, which is what one decode token needs.
 */
public final class CausalLmDecoder implements DecoderModel {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final CausalLM model;
    private final ModelConfig config;

    public CausalLmDecoder(CausalLM model) {
        this.model = model;
        this.config = model.config();
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int contextLength() {
        return config.maxPositionEmbeddings();
    }

    @Override
    public KvCache newCache() {
        return new KvCache(config.numHiddenLayers(), config.numKeyValueHeads(), config.headDim());
    }

    @Override
    public float[] prefill(KvCache cache, int[] ids) {
        return step(cache, ids);
    }

    @Override
    public float[] decode(KvCache cache, int token) {
        return step(cache, new int[] {token});
    }

    private float[] step(KvCache cache, int[] ids) {
        int start = cache.length(), t = ids.length;
        if (t == 0) throw new IllegalArgumentException("no tokens");
        for (int i = 0; i < t; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[i] + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        int[] positions = new int[t];
        for (int i = 0; i < t; i++) positions[i] = start + i;
        try (Tape tape = new Tape(model.backend())) {
            double[] inv = config.ropeInverseFrequencies(start + t);
            float[] invF = new float[inv.length];
            for (int i = 0; i < inv.length; i++) invF[i] = (float) inv[i];
            Pass pass = new Pass(ints(tape, positions), ints(tape, new int[t]), invF,
                    (float) config.ropeScaling().attentionScaling(), start + t, false, 0);
            Tensor x = model.embedding().forward(tape, ints(tape, ids));
            for (DecoderLayer layer : model.layers()) {
                Tensor a = attention(tape, layer.attention(), layer.inputNorm().forward(tape, x), pass, cache, start);
                Tensor h = Ops.add(tape, x, a);
                x = Ops.add(tape, h, layer.mlp().forward(tape, layer.postAttentionNorm().forward(tape, h), pass));
            }
            cache.advance(ids);
            Tensor h = model.finalNorm().forward(tape, x);
            int d = config.hiddenSize();
            Tensor last = Tensor.wrap(DType.F32, Shape.of(1, d), h.data().asSlice((t - 1L) * d * 4L, d * 4L));
            Tensor logits = tape.allocate(1, config.vocabSize());
            model.backend().linear(last, model.lmHead(), null, logits);
            return logits.toFloatArray();
        }
    }

    /**
     * One decode token for each of B sequences, stacked as one {@code [B, hidden]} activation:
     * every linear layer (LoRA included), norm and MLP runs once over the batch, so each weight
     * is read once per step instead of B times. RoPE and attention run per row against that
     * row's own cache and position. Each row's arithmetic is the solo {@link #decode}'s: the
     * row-wise ops see only their row, and the CPU matmul accumulates each output element over
     * k in the same order whatever the row count (see CpuMatmul.nt).
     */
    @Override
    public float[][] decodeBatch(KvCache[] caches, int[] tokens) {
        int b = caches.length;
        if (b == 1) return new float[][] {decode(caches[0], tokens[0])};
        for (int token : tokens) {
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        int[] positions = new int[b];
        int longest = 0;
        for (int i = 0; i < b; i++) {
            positions[i] = caches[i].length();
            longest = Math.max(longest, positions[i] + 1);
        }
        try (Tape tape = new Tape(model.backend())) {
            Row[] rows = new Row[b];
            for (int i = 0; i < b; i++) {
                double[] inv = config.ropeInverseFrequencies(positions[i] + 1);
                float[] invF = new float[inv.length];
                for (int j = 0; j < inv.length; j++) invF[j] = (float) inv[j];
                rows[i] = new Row(caches[i], ints(tape, new int[] {positions[i]}), invF);
            }
            // The linears and the MLP read only LoRA's dropout switch from the pass (off here).
            Pass pass = new Pass(ints(tape, positions), ints(tape, new int[b]), rows[0].invFreq,
                    (float) config.ropeScaling().attentionScaling(), longest, false, 0);
            Tensor x = model.embedding().forward(tape, ints(tape, tokens));
            for (DecoderLayer layer : model.layers()) {
                Tensor a = batchAttention(tape, layer.attention(), layer.inputNorm().forward(tape, x), pass, rows);
                Tensor h = Ops.add(tape, x, a);
                x = Ops.add(tape, h, layer.mlp().forward(tape, layer.postAttentionNorm().forward(tape, h), pass));
            }
            for (int i = 0; i < b; i++) caches[i].advance(new int[] {tokens[i]});
            Tensor h = model.finalNorm().forward(tape, x);
            Tensor logits = tape.allocate(b, config.vocabSize());
            model.backend().linear(h, model.lmHead(), null, logits);
            float[] all = logits.toFloatArray();
            float[][] out = new float[b][];
            int v = config.vocabSize();
            for (int i = 0; i < b; i++) out[i] = java.util.Arrays.copyOfRange(all, i * v, (i + 1) * v);
            return out;
        }
    }

    /** One sequence of a batched step: its cache, its position (I32 [1]) and RoPE frequencies. */
    private record Row(KvCache cache, Tensor position, float[] invFreq) {}

    /** {@link #attention} for B single-token rows: q/k/v/o projections batched, RoPE and attention per row. */
    private Tensor batchAttention(Tape tape, Attention at, Tensor x, Pass pass, Row[] rows) {
        int b = rows.length, hd = at.headDim();
        Tensor q = Ops.view(tape, at.q().forward(tape, x, pass), b, at.heads(), hd);
        Tensor k = Ops.view(tape, at.k().forward(tape, x, pass), b, at.kvHeads(), hd);
        Tensor v = Ops.view(tape, at.v().forward(tape, x, pass), b, at.kvHeads(), hd);
        if (at.qNorm() != null) q = at.qNorm().forward(tape, q);
        if (at.kNorm() != null) k = at.kNorm().forward(tape, k);
        float[] vAll = v.toFloatArray();
        int qRow = at.heads() * hd, kvRow = at.kvHeads() * hd;
        float scaling = (float) config.ropeScaling().attentionScaling();
        Tensor out = tape.allocate(b, qRow);
        for (int i = 0; i < b; i++) {
            Row r = rows[i];
            Tensor qi = Tensor.wrap(DType.F32, Shape.of(1, at.heads(), hd), q.data().asSlice((long) i * qRow * 4, qRow * 4L));
            Tensor ki = Tensor.wrap(DType.F32, Shape.of(1, at.kvHeads(), hd), k.data().asSlice((long) i * kvRow * 4, kvRow * 4L));
            qi = Ops.rope(tape, qi, r.position(), r.invFreq(), scaling);
            ki = Ops.rope(tape, ki, r.position(), r.invFreq(), scaling);
            int start = r.cache().length();
            r.cache().append(at.layer(), ki.toFloatArray(), java.util.Arrays.copyOfRange(vAll, i * kvRow, (i + 1) * kvRow), 1);
            float[] o = attendCached(qi.toFloatArray(), r.cache().keys(at.layer()), r.cache().values(at.layer()), start, 1,
                    at.heads(), at.kvHeads(), hd, at.slidingWindow());
            MemorySegment.copy(o, 0, out.data(), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                    (long) i * qRow * 4, o.length);
        }
        return at.o().forward(tape, out, pass);
    }

    /** {@link Attention#forward} with the keys and values of earlier steps taken from the cache. */
    private static Tensor attention(Tape tape, Attention at, Tensor x, Pass pass, KvCache cache, int start) {
        long t = x.shape().dim(0);
        Tensor q = Ops.view(tape, at.q().forward(tape, x, pass), t, at.heads(), at.headDim());
        Tensor k = Ops.view(tape, at.k().forward(tape, x, pass), t, at.kvHeads(), at.headDim());
        Tensor v = Ops.view(tape, at.v().forward(tape, x, pass), t, at.kvHeads(), at.headDim());
        if (at.qNorm() != null) q = at.qNorm().forward(tape, q);
        if (at.kNorm() != null) k = at.kNorm().forward(tape, k);
        q = Ops.rope(tape, q, pass.positions(), pass.invFreq(), pass.attentionScaling());
        k = Ops.rope(tape, k, pass.positions(), pass.invFreq(), pass.attentionScaling());
        cache.append(at.layer(), k.toFloatArray(), v.toFloatArray(), (int) t);
        Tensor out;
        boolean windowBites = at.slidingWindow() > 0 && start + t > at.slidingWindow();
        if (start == 0 && !windowBites) {
            out = Ops.attention(tape, q, k, v, pass.segmentIds());
        } else {
            out = tape.allocate(t, at.heads(), at.headDim());
            float[] o = attendCached(q.toFloatArray(), cache.keys(at.layer()), cache.values(at.layer()), start, (int) t,
                    at.heads(), at.kvHeads(), at.headDim(), at.slidingWindow());
            MemorySegment.copy(o, 0, out.data(), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, o.length);
        }
        return at.o().forward(tape, Ops.view(tape, out, t, (long) at.heads() * at.headDim()), pass);
    }

    /**
     * softmax(q·kᵀ / sqrt(headDim)) · v for queries at positions {@code start + i} over cached
     * rows {@code j <= start + i} (and {@code j > start + i - window} with a sliding window, as
     * transformers masks it); query head h reads kv head {@code h / (heads / kvHeads)} (GQA).
     * fp32 products, fp32 accumulation.
     */
    static float[] attendCached(float[] q, float[] keys, float[] values, int start, int t, int heads, int kvHeads,
                                int headDim, int window) {
        int group = heads / kvHeads, row = kvHeads * headDim;
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] out = new float[t * heads * headDim];
        float[] scores = new float[start + t];
        for (int i = 0; i < t; i++) {
            int pos = start + i;
            int from = window > 0 ? Math.max(0, pos - window + 1) : 0;
            for (int h = 0; h < heads; h++) {
                int qo = (i * heads + h) * headDim, kv = (h / group) * headDim;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = from; j <= pos; j++) {
                    float s = 0;
                    int ko = j * row + kv;
                    for (int e = 0; e < headDim; e++) s += q[qo + e] * keys[ko + e];
                    scores[j] = s * scale;
                    max = Math.max(max, scores[j]);
                }
                float sum = 0;
                for (int j = from; j <= pos; j++) sum += scores[j] = (float) Math.exp(scores[j] - max);
                float inv = 1 / sum;
                for (int j = from; j <= pos; j++) {
                    float p = scores[j] * inv;
                    int vo = j * row + kv;
                    for (int e = 0; e < headDim; e++) out[qo + e] += p * values[vo + e];
                }
            }
        }
        return out;
    }

    private static Tensor ints(Tape tape, int[] v) {
        Tensor t = Tensor.wrap(DType.I32, Shape.of(v.length), tape.allocate(v.length).data());
        MemorySegment.copy(v, 0, t.data(), INT, 0, v.length);
        return t;
    }
}
