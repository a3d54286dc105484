package jlora.model;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import jlora.UserError;

/**
 * An estimate, in bytes, of the GPU memory one LoRA / QLoRA training process needs. It is
 * arithmetic on the config, not a measurement: it leaves out the CUDA context (~0.5 GiB),
 * cuBLAS workspaces and allocator fragmentation, so plan on 10-20% above {@link #total()}.
 *
 * <p>Where each term comes from:
 * <ul>
 * <li>{@code baseWeights}: LoRA keeps every base parameter in bf16 (2 bytes). QLoRA stores
 *     the decoder layers' linear weights in NF4 with bitsandbytes' double quantization:
 *     4 bits per weight, plus one 8-bit absmax per 64-weight block (0.125 bits/weight), plus
 *     one fp32 second-level absmax per 256 blocks (32 / (64 * 256) = 0.002 bits/weight), so
 *     ~4.127 bits. Embeddings, lm_head, norms and biases stay bf16 (bitsandbytes through
 *     transformers never quantizes lm_head or the embedding).</li>
 * <li>{@code loraWeights}, {@code loraGradients}, {@code optimizerStates}: r * (in + out)
 *     parameters per adapted linear, kept as fp32 masters (4 bytes) with fp32 gradients
 *     (4 bytes) and AdamW's two fp32 moments (8 bytes): 16 bytes per LoRA parameter.</li>
 * <li>{@code activations}: what backward needs, in bf16, for seqLen * microBatch tokens, with
 *     flash attention (no seq x seq scores). Per layer and token: the layer input and the
 *     attention-norm output (2h), q, k, v after RoPE (q + 2kv), the attention output (q) plus
 *     its fp32 log-sum-exp per head, the residual and the MLP-norm output (2h), gate and up
 *     (2i), silu(gate) * up (i), and each adapter's x * A (r): 2 * (4h + 2q + 2kv + 3i + r*T)
 *     bytes + 4 * heads. With gradient checkpointing only each layer's input (2h bytes per
 *     token) is kept, plus one layer's full set while it is recomputed.</li>
 * <li>{@code logits}: tokens * vocab fp32 logits, whose gradient the loss writes in place; an
 *     upper bound, since a chunked cross-entropy holds only one chunk.</li>
 * <li>{@code workspace}: QLoRA dequantizes one weight at a time to bf16 for its matmul: the
 *     largest linear weight. Zero for LoRA.</li>
 * </ul>
 */
public record MemoryEstimate(
        Method method,
        long loraParameters,
        long baseWeights,
        long loraWeights,
        long loraGradients,
        long optimizerStates,
        long activations,
        long logits,
        long workspace) {

    public enum Method { LORA, QLORA }

    /**
     * What the estimate depends on besides the model.
     *
     * @param targetModules PEFT names (q_proj ... down_proj) or "all-linear"
     */
    public record Setup(int rank, List<String> targetModules, int seqLen, int microBatch,
                        boolean gradientCheckpointing) {
        public Setup {
            if (rank <= 0) throw new UserError("LoRA rank must be positive, got " + rank);
            if (seqLen <= 0) throw new UserError("sequence length must be positive, got " + seqLen);
            if (microBatch <= 0) throw new UserError("micro-batch size must be positive, got " + microBatch);
            targetModules = List.copyOf(targetModules);
        }

        /** Rank 16 on every linear of every layer (PEFT "all-linear"): a common starting recipe. */
        public static Setup defaults(int seqLen, int microBatch, boolean gradientCheckpointing) {
            return new Setup(16, List.of("all-linear"), seqLen, microBatch, gradientCheckpointing);
        }

        /** The PEFT module names, with "all-linear" expanded; unknown names are a UserError. */
        public Set<String> resolvedTargets() {
            Set<String> out = new LinkedHashSet<>();
            for (String t : targetModules) {
                if (t.equals("all-linear")) {
                    out.addAll(WeightMap.LINEAR_MODULES);
                } else if (WeightMap.LINEAR_MODULES.contains(t)) {
                    out.add(t);
                } else {
                    throw new UserError("Unknown LoRA target module '" + t + "'; use any of "
                            + String.join(", ", WeightMap.LINEAR_MODULES) + ", or all-linear");
                }
            }
            if (out.isEmpty()) throw new UserError("LoRA needs at least one target module");
            return out;
        }
    }

    static final int BF16_BYTES = 2;
    static final int FP32_BYTES = 4;
    /** bitsandbytes NF4 with double quant: 4 bits + 8-bit absmax / 64 + fp32 absmax / (64 * 256). */
    static final double NF4_BITS_PER_WEIGHT = 4 + 8.0 / 64 + 32.0 / (64 * 256);

    public static MemoryEstimate of(ModelConfig c, Method method, Setup s) {
        Set<String> targets = s.resolvedTargets();
        long loraParams = loraParameterCount(c, s.rank(), targets);

        long linearWeights = (long) c.numHiddenLayers() * linearWeightsPerLayer(c);
        long total = c.parameterCount().total();
        long base = method == Method.LORA
                ? total * BF16_BYTES
                : (long) Math.ceil(linearWeights * NF4_BITS_PER_WEIGHT / 8) + (total - linearWeights) * BF16_BYTES;

        long tokens = (long) s.seqLen() * s.microBatch();
        long h = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), inter = c.intermediateSize();
        long perLayerPerToken = BF16_BYTES * (4 * h + 2 * q + 2 * kv + 3 * inter + (long) s.rank() * targets.size())
                + FP32_BYTES * (long) c.numAttentionHeads();
        long activations = s.gradientCheckpointing()
                ? tokens * (c.numHiddenLayers() * h * BF16_BYTES + perLayerPerToken)
                : tokens * c.numHiddenLayers() * perLayerPerToken;
        long logits = tokens * c.vocabSize() * FP32_BYTES;
        long workspace = method == Method.QLORA ? Math.max(q, inter) * h * BF16_BYTES : 0;

        return new MemoryEstimate(method, loraParams, base, loraParams * FP32_BYTES, loraParams * FP32_BYTES,
                2L * loraParams * FP32_BYTES, activations, logits, workspace);
    }

    /** PEFT's LoRA adds A [r, in] and B [out, r] to each target linear of each layer. */
    public static long loraParameterCount(ModelConfig c, int rank, Set<String> targets) {
        long perLayer = 0;
        for (String t : targets) {
            long[] io = inOut(c, t);
            perLayer += (long) rank * (io[0] + io[1]);
        }
        return perLayer * c.numHiddenLayers();
    }

    private static long linearWeightsPerLayer(ModelConfig c) {
        long n = 0;
        for (String t : WeightMap.LINEAR_MODULES) {
            long[] io = inOut(c, t);
            n += io[0] * io[1];
        }
        return n;
    }

    /** {in_features, out_features} of a decoder-layer linear. */
    private static long[] inOut(ModelConfig c, String module) {
        long h = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), inter = c.intermediateSize();
        return switch (module) {
            case "q_proj" -> new long[] {h, q};
            case "k_proj", "v_proj" -> new long[] {h, kv};
            case "o_proj" -> new long[] {q, h};
            case "gate_proj", "up_proj" -> new long[] {h, inter};
            case "down_proj" -> new long[] {inter, h};
            default -> throw new IllegalArgumentException(module);
        };
    }

    public long total() {
        return baseWeights + loraWeights + loraGradients + optimizerStates + activations + logits + workspace;
    }

    /** Lines for `jlora info`: each term in GiB and the total. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "%s: ~%s total (estimate; add 10-20%% for CUDA context and fragmentation)",
                method == Method.LORA ? "LoRA (bf16 base)" : "QLoRA (NF4 base)", humanBytes(total())));
        out.add("  base weights      " + humanBytes(baseWeights));
        out.add("  LoRA params       " + humanBytes(loraWeights) + " (" + ParameterCount.human(loraParameters) + " fp32)");
        out.add("  LoRA grads        " + humanBytes(loraGradients));
        out.add("  AdamW states      " + humanBytes(optimizerStates));
        out.add("  activations       " + humanBytes(activations));
        out.add("  logits            " + humanBytes(logits));
        if (workspace > 0) out.add("  dequant workspace " + humanBytes(workspace));
        return out;
    }

    /** Binary units, the largest that keeps the number at least 1 (GiB for real models). */
    public static String humanBytes(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }
}
