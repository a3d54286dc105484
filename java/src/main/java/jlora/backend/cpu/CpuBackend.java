package jlora.backend.cpu;

import jlora.backend.Backend;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.backend.LossSum;
import jlora.tensor.Tensor;

/**
 * The pure-Java reference backend: fp32 compute and accumulation, Vector API in the hot
 * loops, the common ForkJoin pool for parallelism. Each op family lives in its own file
 * ({@code Cpu<Family>}), where the comment states the math the loops implement.
 */
public final class CpuBackend implements Backend {

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        CpuElementwise.add(a, b, out);
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        CpuElementwise.embedding(table, ids, out);
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        CpuElementwise.embeddingBackward(ids, dOut, dTable);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        CpuRmsNorm.forward(x, weight, eps, out, rstd);
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        CpuRmsNorm.backward(dOut, x, weight, rstd, dx, dWeight);
    }

    @Override
    public void rope(Tensor x, Tensor positions, float[] invFreq, float attentionScaling, Tensor out) {
        CpuRope.apply(x, positions, invFreq, attentionScaling, out, +1);
    }

    @Override
    public void ropeBackward(Tensor dOut, Tensor positions, float[] invFreq, float attentionScaling, Tensor dx) {
        CpuRope.apply(dOut, positions, invFreq, attentionScaling, dx, -1);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse) {
        CpuAttention.forward(q, k, v, segmentIds, out, lse);
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds,
                                  Tensor out, Tensor lse, Tensor dq, Tensor dk, Tensor dv) {
        CpuAttention.backward(dOut, q, k, v, segmentIds, out, lse, dq, dk, dv);
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor out) {
        CpuElementwise.swiglu(gate, up, out);
    }

    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        CpuElementwise.swigluBackward(dOut, gate, up, dGate, dUp);
    }

    @Override
    public void linear(Tensor x, LinearWeight w, Tensor bias, Tensor out) {
        CpuLinear.linear(x, w, bias, out);
    }

    @Override
    public void linearBackward(Tensor dOut, LinearWeight w, Tensor dx, Tensor dBias) {
        CpuLinear.linearBackward(dOut, w, dx, dBias);
    }

    @Override
    public void loraLinear(Tensor x, LinearWeight w, Tensor bias, Tensor a, Tensor b, float scale,
                           Dropout dropout, Tensor out, Tensor xa) {
        CpuLinear.lora(x, w, bias, a, b, scale, dropout, out, xa);
    }

    @Override
    public void loraLinearBackward(Tensor dOut, Tensor x, LinearWeight w, Tensor a, Tensor b, float scale,
                                   Dropout dropout, Tensor xa, Tensor dx, Tensor dA, Tensor dB, Tensor dBias) {
        CpuLinear.loraBackward(dOut, x, w, a, b, scale, dropout, xa, dx, dA, dB, dBias);
    }

    @Override
    public LossSum crossEntropy(Tensor hidden, LinearWeight lmHead, Tensor targets, int vocabChunk, Tensor lse) {
        return CpuCrossEntropy.forward(hidden, lmHead, targets, vocabChunk, lse);
    }

    @Override
    public void crossEntropyBackward(Tensor hidden, LinearWeight lmHead, Tensor targets, Tensor lse, float lossScale,
                                     int vocabChunk, Tensor dHidden, Tensor dLmHead) {
        CpuCrossEntropy.backward(hidden, lmHead, targets, lse, lossScale, vocabChunk, dHidden, dLmHead);
    }
}
