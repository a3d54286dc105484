package jlora.autograd;

import java.util.ArrayList;
import java.util.List;
import jlora.backend.Backend;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.backend.LossSum;
import jlora.tensor.Tensor;

/**
 * The coarse ops as the model calls them: each runs the {@link Backend} forward into tensors
 * from the tape's arena and records the matching backward with exactly what it needs saved.
 * Frozen weights ({@link LinearWeight}, norm weights not registered trainable) get no gradient.
 */
public final class Ops {
    private Ops() {}

    public static Tensor add(Tape tape, Tensor a, Tensor b) {
        Tensor out = tape.allocate(a.shape().dims());
        tape.backend.add(a, b, out);
        tape.record("add", List.of(a, b), List.of(out), g -> {
            Tensor d = g.of(out);
            if (d == null) return;
            for (Tensor in : new Tensor[] {a, b}) {
                Tensor s = g.sink(in);
                if (s != null) tape.backend.copy(d, s);
            }
        });
        return out;
    }

    /**
     * The same bytes under another shape (e.g. q [T, H·Dh] → [T, H, Dh]). The tape tracks tensors
     * by identity, so a reshape must go through here for gradients to flow through it.
     */
    public static Tensor view(Tape tape, Tensor x, long... dims) {
        Tensor out = x.reshape(jlora.tensor.Shape.of(dims));
        tape.record("view", List.of(x), List.of(out), g -> {
            Tensor d = g.of(out), dx = g.sink(x);
            if (d != null && dx != null) tape.backend.copy(d, dx);
        });
        return out;
    }

    public static Tensor embedding(Tape tape, Tensor table, Tensor ids) {
        Tensor out = tape.allocate(ids.numel(), table.shape().dim(1));
        tape.backend.embedding(table, ids, out);
        tape.record("embedding", List.of(table), List.of(out), g -> {
            Tensor d = g.of(out), dTable = g.param(table);
            if (d != null && dTable != null) tape.backend.embeddingBackward(ids, d, dTable);
        });
        return out;
    }

    public static Tensor rmsNorm(Tape tape, Tensor x, Tensor weight, float eps) {
        Tensor out = tape.allocate(x.shape().dims());
        Tensor rstd = tape.allocate(x.numel() / x.shape().dim(-1));
        tape.backend.rmsNorm(x, weight, eps, out, rstd);
        tape.record("rmsNorm", List.of(x, weight), List.of(out), g -> {
            Tensor d = g.of(out);
            if (d == null) return;
            Tensor dx = g.sink(x), dw = g.param(weight);
            // The backend always forms dx; a frozen input gets it in a scratch tensor.
            tape.backend.rmsNormBackward(d, x, weight, rstd, dx != null ? dx : tape.allocate(x.shape().dims()), dw);
        });
        return out;
    }

    public static Tensor rope(Tape tape, Tensor x, Tensor positions, float[] invFreq, float attentionScaling) {
        Tensor out = tape.allocate(x.shape().dims());
        tape.backend.rope(x, positions, invFreq, attentionScaling, out);
        tape.record("rope", List.of(x), List.of(out), g -> {
            Tensor d = g.of(out), dx = g.sink(x);
            if (d != null && dx != null) tape.backend.ropeBackward(d, positions, invFreq, attentionScaling, dx);
        });
        return out;
    }

    public static Tensor attention(Tape tape, Tensor q, Tensor k, Tensor v, Tensor segmentIds) {
        Tensor out = tape.allocate(q.shape().dims());
        Tensor lse = tape.allocate(q.shape().dim(0), q.shape().dim(1));
        tape.backend.attention(q, k, v, segmentIds, out, lse);
        tape.record("attention", List.of(q, k, v), List.of(out), g -> {
            Tensor d = g.of(out);
            if (d == null) return;
            tape.backend.attentionBackward(d, q, k, v, segmentIds, out, lse,
                    orScratch(tape, g.sink(q), q), orScratch(tape, g.sink(k), k), orScratch(tape, g.sink(v), v));
        });
        return out;
    }

    public static Tensor swiglu(Tape tape, Tensor gate, Tensor up) {
        Tensor out = tape.allocate(gate.shape().dims());
        tape.backend.swiglu(gate, up, out);
        tape.record("swiglu", List.of(gate, up), List.of(out), g -> {
            Tensor d = g.of(out);
            if (d == null) return;
            tape.backend.swigluBackward(d, gate, up, orScratch(tape, g.sink(gate), gate), orScratch(tape, g.sink(up), up));
        });
        return out;
    }

    /** A frozen linear (bias frozen too unless registered trainable). */
    public static Tensor linear(Tape tape, Tensor x, LinearWeight w, Tensor bias) {
        Tensor out = tape.allocate(x.shape().dim(0), w.outFeatures());
        tape.backend.linear(x, w, bias, out);
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        if (bias != null) inputs.add(bias);
        tape.record("linear", inputs, List.of(out), g -> {
            Tensor d = g.of(out), dx = g.sink(x), dBias = bias == null ? null : g.param(bias);
            if (d == null) return;
            if (dx != null) tape.backend.linearBackward(d, w, dx, dBias);
            else if (dBias != null) tape.backend.linearBackward(d, w, tape.allocate(x.shape().dims()), dBias);
        });
        return out;
    }

    /** LoRA linear; A and B must be registered trainable on the tape for their gradients to form. */
    public static Tensor loraLinear(Tape tape, Tensor x, LinearWeight w, Tensor bias, Tensor a, Tensor b,
                                    float scale, Dropout dropout) {
        Tensor out = tape.allocate(x.shape().dim(0), w.outFeatures());
        Tensor xa = tape.allocate(x.shape().dim(0), a.shape().dim(0));
        tape.backend.loraLinear(x, w, bias, a, b, scale, dropout, out, xa);
        List<Tensor> inputs = new ArrayList<>(List.of(x, a, b));
        if (bias != null) inputs.add(bias);
        tape.record("loraLinear", inputs, List.of(out), g -> {
            Tensor d = g.of(out);
            if (d == null) return;
            Tensor dA = g.param(a), dB = g.param(b), dBias = bias == null ? null : g.param(bias);
            // The backend forms dA and dB together; a frozen one goes to scratch.
            tape.backend.loraLinearBackward(d, x, w, a, b, scale, dropout, xa, orScratch(tape, g.sink(x), x),
                    dA != null ? dA : tape.allocate(a.shape().dims()), dB != null ? dB : tape.allocate(b.shape().dims()), dBias);
        });
        return out;
    }

    /**
     * The loss: returns the un-normalised sum and count; its backward seeds the tape with
     * {@link Tape.Gradients#lossScale()} per counted token.
     */
    public static LossSum crossEntropy(Tape tape, Tensor hidden, LinearWeight lmHead, Tensor lmHeadTensor,
                                       Tensor targets, int vocabChunk) {
        Tensor lse = tape.allocate(hidden.shape().dim(0));
        LossSum loss = tape.backend.crossEntropy(hidden, lmHead, targets, vocabChunk, lse);
        List<Tensor> inputs = new ArrayList<>(List.of(hidden));
        if (lmHeadTensor != null) inputs.add(lmHeadTensor);
        tape.record("crossEntropy", inputs, List.of(), g -> {
            Tensor dh = g.sink(hidden), dHead = lmHeadTensor == null ? null : g.param(lmHeadTensor);
            if (dh == null && dHead == null) return;
            tape.backend.crossEntropyBackward(hidden, lmHead, targets, lse, g.lossScale(), vocabChunk,
                    orScratch(tape, dh, hidden), dHead);
        });
        return loss;
    }

    private static Tensor orScratch(Tape tape, Tensor sink, Tensor like) {
        return sink != null ? sink : tape.allocate(like.shape().dims());
    }
}
