package jlora.train;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import jlora.tensor.DType;
import jlora.tensor.Tensor;

/**
 * torch.optim.AdamW with fp32 state, in the order of operations of torch's single-tensor CPU path
 * ({@code _single_tensor_adam} with decoupled weight decay), per element:
 *
 * <pre>
 *   p  = p * (float)(1 - lr·wd)                        param.mul_(1 - lr * weight_decay), skipped when wd = 0
 *   m  = fma(w, g - m, m),  w = (float)(1 - β1)        exp_avg.lerp_(grad, 1 - beta1)  (vectorised lerp is an fma)
 *   v  = v * (float)β2;  v = v + ((float)(1 - β2) * g) * g      exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
 *   d  = sqrt(v) / (float)sqrt(1 - β2^t) + (float)eps  denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
 *   p  = p + ((float)(-lr / (1 - β1^t)) * m) / d        param.addcdiv_(exp_avg, denom, value=-step_size)
 * </pre>
 *
 * The scalars (bias corrections, step size) are computed in double, as Python does, and rounded
 * to float where torch's CPU kernels take a float scalar. torch's lerp is {@code self + w·(end-self)}
 * in its scalar tail and an fma in its vector body; we use the fma everywhere, so vector body and
 * tail agree with each other. Bit equality with a given torch build is not claimed (its compiler may
 * contract other products into fmas); agreement to fp32 rounding is tested against fp64.
 */
public final class AdamW implements Optimizer {
    static final String KIND = "adamw_torch";
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final List<Param> params;
    private final AdamHyperparameters hp;
    private final StateStore store;
    private final Tensor[] expAvg;
    private final Tensor[] expAvgSq;
    private long step;

    public AdamW(List<Param> params, AdamHyperparameters hp, StateStore store) {
        this.params = List.copyOf(params);
        this.hp = hp;
        this.store = store;
        this.expAvg = new Tensor[this.params.size()];
        this.expAvgSq = new Tensor[this.params.size()];
        for (int i = 0; i < expAvg.length; i++) {
            Param p = this.params.get(i);
            expAvg[i] = store.allocate(DType.F32, p.value().shape());
            expAvgSq[i] = store.allocate(DType.F32, p.value().shape());
        }
    }

    /** The per-step constants, as floats where torch's kernels see floats. */
    record Coefficients(boolean decay, float decayFactor, float lerpCoeff, boolean lerpFromSelf,
                        float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStepSize) {
        static Coefficients of(AdamHyperparameters hp, double lr, long step) {
            double w = 1 - hp.beta1();
            float wf = (float) w;
            // at::native lerp: weight < 0.5 → self + w·(end - self); otherwise end - (end - self)·(1 - w)
            boolean small = Math.abs(wf) < 0.5f;
            double bc1 = 1 - StrictMath.pow(hp.beta1(), step);
            double bc2 = 1 - StrictMath.pow(hp.beta2(), step);
            return new Coefficients(hp.weightDecay() != 0, (float) (1 - lr * hp.weightDecay()),
                    small ? wf : wf - 1f, small, (float) hp.beta2(), (float) (1 - hp.beta2()),
                    (float) Math.sqrt(bc2), (float) hp.eps(), (float) (-(lr / bc1)));
        }

        Coefficients withoutDecay() {
            return new Coefficients(false, 1.0f, lerpCoeff, lerpFromSelf, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize);
        }
    }

    @Override
    public List<Param> params() {
        return params;
    }

    @Override
    public long stepCount() {
        return step;
    }

    @Override
    public void step(double lr) {
        step++;
        Coefficients decayed = Coefficients.of(hp, lr, step);
        for (int i = 0; i < params.size(); i++) {
            Param param = params.get(i);
            Coefficients own = param.lrScale() == 1.0 ? decayed : Coefficients.of(hp, lr * param.lrScale(), step);
            Coefficients c = param.decay() ? own : own.withoutDecay();
            MemorySegment p = params.get(i).value().data();
            MemorySegment g = params.get(i).grad().data();
            MemorySegment m = expAvg[i].data();
            MemorySegment v = expAvgSq[i].data();
            store.update(params.get(i).numel(), F.length(), (from, to) -> update(p, g, m, v, from, to, c));
        }
    }

    static void update(MemorySegment ps, MemorySegment gs, MemorySegment ms, MemorySegment vs,
                       long from, long to, Coefficients c) {
        long i = from;
        long bound = from + F.loopBound(to - from);
        FloatVector decay = FloatVector.broadcast(F, c.decayFactor());
        FloatVector coeff = FloatVector.broadcast(F, c.lerpCoeff());
        FloatVector beta2 = FloatVector.broadcast(F, c.beta2());
        FloatVector omb2 = FloatVector.broadcast(F, c.oneMinusBeta2());
        FloatVector bc2 = FloatVector.broadcast(F, c.bc2Sqrt());
        FloatVector eps = FloatVector.broadcast(F, c.eps());
        FloatVector step = FloatVector.broadcast(F, c.negStepSize());
        for (; i < bound; i += F.length()) {
            long off = i * Float.BYTES;
            FloatVector p = FloatVector.fromMemorySegment(F, ps, off, LE);
            FloatVector g = FloatVector.fromMemorySegment(F, gs, off, LE);
            FloatVector m = FloatVector.fromMemorySegment(F, ms, off, LE);
            FloatVector v = FloatVector.fromMemorySegment(F, vs, off, LE);
            if (c.decay()) p = p.mul(decay);
            m = coeff.fma(g.sub(m), c.lerpFromSelf() ? m : g);
            v = v.mul(beta2).add(omb2.mul(g).mul(g));
            FloatVector d = v.sqrt().div(bc2).add(eps);
            p = p.add(step.mul(m).div(d));
            p.intoMemorySegment(ps, off, LE);
            m.intoMemorySegment(ms, off, LE);
            v.intoMemorySegment(vs, off, LE);
        }
        for (; i < to; i++) {
            long off = i * Float.BYTES;
            float p = ps.get(Layouts.F32, off);
            float g = gs.get(Layouts.F32, off);
            float m = ms.get(Layouts.F32, off);
            float v = vs.get(Layouts.F32, off);
            if (c.decay()) p = p * c.decayFactor();
            m = Math.fma(c.lerpCoeff(), g - m, c.lerpFromSelf() ? m : g);
            v = v * c.beta2() + (c.oneMinusBeta2() * g) * g;
            float d = (float) Math.sqrt(v) / c.bc2Sqrt() + c.eps();
            p = p + (c.negStepSize() * m) / d;
            ps.set(Layouts.F32, off, p);
            ms.set(Layouts.F32, off, m);
            vs.set(Layouts.F32, off, v);
        }
    }

    @Override
    public OptimizerState saveState() {
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            tensors.put(params.get(i).name() + ".exp_avg", expAvg[i]);
            tensors.put(params.get(i).name() + ".exp_avg_sq", expAvgSq[i]);
        }
        Map<String, String> scalars = new LinkedHashMap<>();
        scalars.put(OptimizerState.KIND, KIND);
        scalars.put(OptimizerState.STEP, Long.toString(step));
        scalars.putAll(hp.asScalars());
        return new OptimizerState(tensors, scalars);
    }

    @Override
    public void loadState(OptimizerState state) {
        StateCopy.checkKind(state, KIND);
        for (int i = 0; i < params.size(); i++) {
            StateCopy.copyInto(state, params.get(i).name() + ".exp_avg", expAvg[i]);
            StateCopy.copyInto(state, params.get(i).name() + ".exp_avg_sq", expAvgSq[i]);
        }
        step = StateCopy.step(state);
    }

    @Override
    public void close() {
        store.close();
    }
}
