package jlora.bench;

import jlora.backend.Backend;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.backend.LossSum;
import jlora.tensor.Tensor;

/**
 * Wraps a backend and adds each op's wall time to one of three buckets: matmul (linear, LoRA
 * linear, fused LM-head cross-entropy), attention, and the rest (norms, RoPE, SwiGLU, adds,
 * embedding). Ops run one after another (each parallel inside), so the buckets add up to the
 * time spent in ops; the caller's total minus their sum is the model's own bookkeeping.
 */
final class TimedBackend implements Backend {
    private final Backend inner;
    long matmulNanos;
    long attentionNanos;
    long restNanos;

    TimedBackend(Backend inner) {
        this.inner = inner;
    }

    void reset() {
        matmulNanos = attentionNanos = restNanos = 0;
    }

    private long t0() {
        return System.nanoTime();
    }

    private void rest(long t0) {
        restNanos += System.nanoTime() - t0;
    }

    private void matmul(long t0) {
        matmulNanos += System.nanoTime() - t0;
    }

    @Override public void add(Tensor a, Tensor b, Tensor out) {
        long t = t0(); inner.add(a, b, out); rest(t);
    }

    @Override public void embedding(Tensor table, Tensor ids, Tensor out) {
        long t = t0(); inner.embedding(table, ids, out); rest(t);
    }

    @Override public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        long t = t0(); inner.embeddingBackward(ids, dOut, dTable); rest(t);
    }

    @Override public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        long t = t0(); inner.rmsNorm(x, weight, eps, out, rstd); rest(t);
    }

    @Override public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        long t = t0(); inner.rmsNormBackward(dOut, x, weight, rstd, dx, dWeight); rest(t);
    }

    @Override public void rope(Tensor x, Tensor positions, float[] invFreq, float attentionScaling, Tensor out) {
        long t = t0(); inner.rope(x, positions, invFreq, attentionScaling, out); rest(t);
    }

    @Override public void ropeBackward(Tensor dOut, Tensor positions, float[] invFreq, float attentionScaling, Tensor dx) {
        long t = t0(); inner.ropeBackward(dOut, positions, invFreq, attentionScaling, dx); rest(t);
    }

    @Override public void attention(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse) {
        long t = t0(); inner.attention(q, k, v, segmentIds, out, lse); attentionNanos += System.nanoTime() - t;
    }

    @Override public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds,
                                            Tensor out, Tensor lse, Tensor dq, Tensor dk, Tensor dv) {
        long t = t0(); inner.attentionBackward(dOut, q, k, v, segmentIds, out, lse, dq, dk, dv);
        attentionNanos += System.nanoTime() - t;
    }

    @Override public void swiglu(Tensor gate, Tensor up, Tensor out) {
        long t = t0(); inner.swiglu(gate, up, out); rest(t);
    }

    @Override public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        long t = t0(); inner.swigluBackward(dOut, gate, up, dGate, dUp); rest(t);
    }

    @Override public void linear(Tensor x, LinearWeight w, Tensor bias, Tensor out) {
        long t = t0(); inner.linear(x, w, bias, out); matmul(t);
    }

    @Override public void linearBackward(Tensor dOut, LinearWeight w, Tensor dx, Tensor dBias) {
        long t = t0(); inner.linearBackward(dOut, w, dx, dBias); matmul(t);
    }

    @Override public void loraLinear(Tensor x, LinearWeight w, Tensor bias, Tensor a, Tensor b, float scale,
                                     Dropout dropout, Tensor out, Tensor xa) {
        long t = t0(); inner.loraLinear(x, w, bias, a, b, scale, dropout, out, xa); matmul(t);
    }

    @Override public void loraLinearBackward(Tensor dOut, Tensor x, LinearWeight w, Tensor a, Tensor b, float scale,
                                             Dropout dropout, Tensor xa, Tensor dx, Tensor dA, Tensor dB, Tensor dBias) {
        long t = t0(); inner.loraLinearBackward(dOut, x, w, a, b, scale, dropout, xa, dx, dA, dB, dBias); matmul(t);
    }

    @Override public LossSum crossEntropy(Tensor hidden, LinearWeight lmHead, Tensor targets, int vocabChunk, Tensor lse) {
        long t = t0(); LossSum s = inner.crossEntropy(hidden, lmHead, targets, vocabChunk, lse); matmul(t);
        return s;
    }

    @Override public void crossEntropyBackward(Tensor hidden, LinearWeight lmHead, Tensor targets, Tensor lse, float lossScale,
                                               int vocabChunk, Tensor dHidden, Tensor dLmHead) {
        long t = t0(); inner.crossEntropyBackward(hidden, lmHead, targets, lse, lossScale, vocabChunk, dHidden, dLmHead); matmul(t);
    }
}
