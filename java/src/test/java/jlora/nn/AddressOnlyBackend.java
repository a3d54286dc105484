package jlora.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import jlora.backend.Backend;
import jlora.backend.Dropout;
import jlora.backend.LinearWeight;
import jlora.backend.LossSum;
import jlora.backend.Workspace;
import jlora.backend.cpu.CpuBackend;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * A stand-in for a device backend on machines without one: its workspace hands out
 * address-only tensors ({@link Tensor#onDevice}, device "fake:0") backed by host memory, so any
 * code outside the backend that reads or writes a device tensor's bytes directly fails exactly
 * as it would with CUDA; inside, every op unwraps the addresses and runs {@link CpuBackend}, so
 * results are bit-identical to the CPU's. Parameters arrive as host tensors, as they do on CUDA.
 */
final class AddressOnlyBackend implements Backend, AutoCloseable {
    static final String DEVICE = "fake:0";
    private final CpuBackend cpu = new CpuBackend();
    private final Arena persistent = Arena.ofShared();

    private static Tensor device(Tensor host) {
        return Tensor.onDevice(DEVICE, host.dtype(), host.shape(), host.data().address());
    }

    /** The host view of a fake-device tensor (or the host tensor itself). */
    private static Tensor h(Tensor t) {
        if (t == null || t.isHost()) return t;
        return Tensor.wrap(t.dtype(), t.shape(), MemorySegment.ofAddress(t.deviceAddress()).reinterpret(t.byteSize()));
    }

    /** Activations must be on the fake device, as the CUDA backend demands. */
    private static Tensor a(Tensor t) {
        if (t.isHost()) throw new IllegalArgumentException("activation " + t + " is on the host");
        return h(t);
    }

    @Override
    public Workspace workspace() {
        Arena arena = Arena.ofShared();
        return new Workspace() {
            @Override
            public Tensor allocate(DType dtype, Shape shape) {
                return device(Tensor.allocate(dtype, shape, arena));
            }

            @Override
            public void close() {
                arena.close();
            }
        };
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Backend.checkCopy(src, dst);
        MemorySegment.copy(h(src).data(), 0, h(dst).data(), 0, src.byteSize());
    }

    @Override
    public void zero(Tensor t) {
        h(t).data().fill((byte) 0);
    }

    @Override
    public List<Tensor> parameterGradients(List<Tensor> params, Arena hostArena) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor p : params) out.add(device(Tensor.allocate(DType.F32, p.shape(), persistent)));
        return out;
    }

    @Override
    public void add(Tensor x, Tensor y, Tensor out) {
        cpu.add(a(x), a(y), a(out));
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        cpu.embedding(h(table), a(ids), a(out));
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        cpu.embeddingBackward(a(ids), a(dOut), a(dTable));
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        cpu.rmsNorm(a(x), h(weight), eps, a(out), a(rstd));
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        cpu.rmsNormBackward(a(dOut), a(x), h(weight), a(rstd), a(dx), dWeight == null ? null : a(dWeight));
    }

    @Override
    public void rope(Tensor x, Tensor positions, float[] invFreq, float attentionScaling, Tensor out) {
        cpu.rope(a(x), a(positions), invFreq, attentionScaling, a(out));
    }

    @Override
    public void ropeBackward(Tensor dOut, Tensor positions, float[] invFreq, float attentionScaling, Tensor dx) {
        cpu.ropeBackward(a(dOut), a(positions), invFreq, attentionScaling, a(dx));
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse) {
        cpu.attention(a(q), a(k), a(v), a(segmentIds), a(out), a(lse));
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor segmentIds, Tensor out, Tensor lse,
                                  Tensor dq, Tensor dk, Tensor dv) {
        cpu.attentionBackward(a(dOut), a(q), a(k), a(v), a(segmentIds), a(out), a(lse), a(dq), a(dk), a(dv));
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor out) {
        cpu.swiglu(a(gate), a(up), a(out));
    }

    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        cpu.swigluBackward(a(dOut), a(gate), a(up), a(dGate), a(dUp));
    }

    @Override
    public void linear(Tensor x, LinearWeight w, Tensor bias, Tensor out) {
        cpu.linear(a(x), w, h(bias), a(out));
    }

    @Override
    public void linearBackward(Tensor dOut, LinearWeight w, Tensor dx, Tensor dBias) {
        cpu.linearBackward(a(dOut), w, a(dx), dBias == null ? null : a(dBias));
    }

    @Override
    public void loraLinear(Tensor x, LinearWeight w, Tensor bias, Tensor la, Tensor lb, float scale, Dropout dropout,
                           Tensor out, Tensor xa) {
        cpu.loraLinear(a(x), w, h(bias), h(la), h(lb), scale, dropout, a(out), a(xa));
    }

    @Override
    public void loraLinearBackward(Tensor dOut, Tensor x, LinearWeight w, Tensor la, Tensor lb, float scale,
                                   Dropout dropout, Tensor xa, Tensor dx, Tensor dA, Tensor dB, Tensor dBias) {
        cpu.loraLinearBackward(a(dOut), a(x), w, h(la), h(lb), scale, dropout, a(xa), a(dx), a(dA), a(dB),
                dBias == null ? null : a(dBias));
    }

    @Override
    public LossSum crossEntropy(Tensor hidden, LinearWeight lmHead, Tensor targets, int vocabChunk, Tensor lse) {
        return cpu.crossEntropy(a(hidden), lmHead, a(targets), vocabChunk, a(lse));
    }

    @Override
    public void crossEntropyBackward(Tensor hidden, LinearWeight lmHead, Tensor targets, Tensor lse, float lossScale,
                                     int vocabChunk, Tensor dHidden, Tensor dLmHead) {
        cpu.crossEntropyBackward(a(hidden), lmHead, a(targets), a(lse), lossScale, vocabChunk, a(dHidden),
                dLmHead == null ? null : a(dLmHead));
    }

    @Override
    public void close() {
        persistent.close();
    }
}
