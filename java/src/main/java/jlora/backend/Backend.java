package jlora.backend;

import jlora.tensor.Tensor;

/**
 * The op set every device implements, each op a forward / backward pair with one name family
 * (llm.c style). Model code calls only these, so it never branches on the device.
 *
 * <p>Conventions, for every op:
 * <ul>
 *   <li>Activations are F32 and token-major: {@code T} tokens of one micro-batch are flattened
 *       (batch rows and packed documents one after the other), so {@code x} is {@code [T, D]}
 *       and attention heads are {@code [T, H, headDim]}.</li>
 *   <li>The caller allocates every output (explicit memory); an op writes every element of it.</li>
 *   <li>Gradients with respect to op <em>inputs</em> ({@code dx}, {@code dq} ...) are
 *       <em>overwritten</em>; gradients with respect to <em>parameters</em> ({@code dWeight},
 *       {@code dA}, {@code dB}, {@code dBias}, {@code dTable}, {@code dLmHead}) are
 *       <em>accumulated</em> ({@code +=}), so micro-batches add up. A nullable parameter
 *       gradient means "frozen, do not compute".</li>
 *   <li>Integer inputs (token ids, positions, segment ids, targets) are I32 {@code [T]}.</li>
 * </ul>
 */
public interface Backend {

    // ---- memory: where this backend's tensors live. The defaults are host memory (the CPU).

    /** A scope for activations in this backend's memory; a tape owns one. */
    default Workspace workspace() {
        return new HostWorkspace();
    }

    /**
     * Copies all of {@code src} into {@code dst} (same dtype and element count); either may be
     * in host memory or in this backend's memory. Frozen host parameters need no copy: every op
     * accepts them and a device backend uploads them once.
     */
    default void copy(Tensor src, Tensor dst) {
        checkCopy(src, dst);
        java.lang.foreign.MemorySegment.copy(src.data(), 0, dst.data(), 0, src.byteSize());
    }

    /** Sets every byte of {@code t} to 0 (a parameter-gradient buffer before a step). */
    default void zero(Tensor t) {
        t.data().fill((byte) 0);
    }

    /**
     * Zeroed F32 gradient buffers for the trainable host parameters {@code params} (LoRA A/B,
     * trainable norm weights), in this backend's memory: from {@code hostArena} on the CPU; on a
     * device, owned by the backend, which from then on computes with its own copy of each
     * parameter (the device master).
     */
    default java.util.List<Tensor> parameterGradients(java.util.List<Tensor> params, java.lang.foreign.Arena hostArena) {
        java.util.List<Tensor> out = new java.util.ArrayList<>();
        for (Tensor p : params) out.add(Tensor.allocate(jlora.tensor.DType.F32, p.shape(), hostArena));
        return out;
    }

    static void checkCopy(Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
            throw new IllegalArgumentException("cannot copy " + src + " into " + dst);
        }
    }

    // ---- elementwise helpers the model needs between ops (residual stream, branch sums)

    /** out = a + b (same shapes; out may alias a or b). */
    void add(Tensor a, Tensor b, Tensor out);

    // ---- embedding

    /** out[t, :] = table[ids[t], :]; table {@code [V, D]} F32 or BF16. */
    void embedding(Tensor table, Tensor ids, Tensor out);

    /** dTable[ids[t], :] += dOut[t, :] (scatter-add; repeated ids add up). dTable F32. */
    void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable);

    // ---- RMSNorm (Llama / Qwen): y = x · rsqrt(mean(x²) + eps) · w, all in fp32

    /** x {@code [T, D]}, weight {@code [D]} (F32/BF16); saves rstd {@code [T]} for backward. */
    void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd);

    /** dx overwritten; dWeight ({@code [D]} F32, nullable) accumulated. */
    void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight);

    // ---- RoPE, rotate-half convention (HF Llama / Qwen)

    /**
     * x {@code [T, H, headDim]}; the first {@code 2 · invFreq.length} dims of each head are
     * rotated (the rest pass through). angle = positions[t] · invFreq[j] (formed in fp32 as HF
     * does), cos/sin multiplied by {@code attentionScaling} (YaRN / LongRoPE; 1 otherwise):
     * out₁ = x₁·cos − x₂·sin, out₂ = x₂·cos + x₁·sin for the two halves. out may alias x.
     */
    void rope(Tensor x, Tensor positions, float[] invFreq, float attentionScaling, Tensor out);

    /** The transpose rotation: dx₁ = d₁·cos + d₂·sin, dx₂ = d₂·cos − d₁·sin. dx may alias dOut. */
    void ropeBackward(Tensor dOut, Tensor positions, float[] invFreq, float attentionScaling, Tensor dx);

    // ---- causal grouped-query attention over packed documents

    /**
     * q {@code [T, Hq, Dh]}, k and v {@code [T, Hkv, Dh]} with Hq a multiple of Hkv (query head
     * h reads kv head h / (Hq/Hkv)). segmentIds {@code [T]}: tokens of one document share an id
     * and are contiguous; token i attends to tokens j ≤ i of its own document only. Softmax
     * scale 1/sqrt(Dh). Writes out {@code [T, Hq, Dh]} and the natural-log logsumexp of the
     * scaled scores lse {@code [T, Hq]} that the backward needs.
     */
    void attention(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse);

    /**
     * Segment ids for packed rows whose position ids restart at 0 at every document (as HF's
     * {@code DataCollatorWithFlattening} packs them, and as flash-attention derives cu_seqlens
     * from them): a new document starts at every position 0.
     */
    static int[] segmentIdsFromPositions(int[] positionIds) {
        int[] seg = new int[positionIds.length];
        int id = 0;
        for (int t = 0; t < seg.length; t++) {
            if (t > 0 && positionIds[t] == 0) id++;
            seg[t] = id;
        }
        return seg;
    }

    /** dq, dk, dv overwritten. */
    void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds,
                           Tensor out, Tensor lse, Tensor dq, Tensor dk, Tensor dv);

    // ---- SwiGLU: out = silu(gate) · up

    void swiglu(Tensor gate, Tensor up, Tensor out);

    void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp);

    // ---- linear: y = x·Wᵀ + b with a frozen W

    /** x {@code [T, in]}, out {@code [T, out]}, bias {@code [out]} or null. */
    void linear(Tensor x, LinearWeight w, Tensor bias, Tensor out);

    /** dx = dOut·W (overwritten); dBias (nullable) += Σ_t dOut[t, :]. */
    void linearBackward(Tensor dOut, LinearWeight w, Tensor dx, Tensor dBias);

    // ---- LoRA linear: y = x·Wᵀ + b + scale · dropout(x)·Aᵀ·Bᵀ (PEFT)

    /**
     * A {@code [r, in]}, B {@code [out, r]} F32 (trainable); W frozen. Saves
     * {@code xa = dropout(x)·Aᵀ} {@code [T, r]} for the backward; the dropout mask is
     * regenerated there from {@code dropout}'s seed (element index t·in + i).
     */
    void loraLinear(Tensor x, LinearWeight w, Tensor bias, Tensor a, Tensor b, float scale,
                    Dropout dropout, Tensor out, Tensor xa);

    /** dx overwritten; dA, dB accumulated; dBias nullable, accumulated. */
    void loraLinearBackward(Tensor dOut, Tensor x, LinearWeight w, Tensor a, Tensor b, float scale,
                            Dropout dropout, Tensor xa, Tensor dx, Tensor dA, Tensor dB, Tensor dBias);

    // ---- cross-entropy fused with the LM head, over vocabulary chunks

    /** Targets equal to this are not counted (PyTorch / HF convention). */
    int IGNORE_INDEX = -100;

    /**
     * logits = hidden·lmHeadᵀ formed {@code vocabChunk} columns at a time (never the full
     * {@code [T, V]} matrix), with an online logsumexp per token. targets {@code [T]} are already
     * aligned with hidden rows (the caller shifts labels). Saves lse {@code [T]} (0 for ignored
     * tokens). Returns the sum of −log softmax(logits)[target] over counted tokens and their count.
     */
    LossSum crossEntropy(Tensor hidden, LinearWeight lmHead, Tensor targets, int vocabChunk, Tensor lse);

    /**
     * For an objective Σ_counted lossScale · loss_t (lossScale is 1/N for a mean over N
     * tokens): dHidden overwritten, dLmHead ({@code [V, D]} F32, nullable) accumulated; both
     * formed chunk by chunk from (softmax − onehot) · lossScale.
     */
    void crossEntropyBackward(Tensor hidden, LinearWeight lmHead, Tensor targets, Tensor lse, float lossScale,
                              int vocabChunk, Tensor dHidden, Tensor dLmHead);
}
