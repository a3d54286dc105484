package jlora.train;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import jlora.quant.Blockwise8bit;
import jlora.quant.DynamicMap;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * bitsandbytes' AdamW with blockwise 8-bit state ({@code bnb.optim.AdamW8bit}, Hugging Face's
 * {@code adamw_bnb_8bit} / {@code paged_adamw_8bit}; with {@code min8bitSize = Long.MAX_VALUE} it is
 * bnb's 32-bit AdamW, {@code paged_adamw_32bit}). Following {@code Optimizer2State} and the CUDA
 * kernels in bitsandbytes' {@code csrc/kernels.cu}:
 *
 * <ul>
 *   <li>Parameters with fewer than {@code min_8bit_size} (default 4096) elements keep fp32 state and
 *       take {@code kOptimizer32bit2State<ADAM>}: {@code m = m·β1 + (1-β1)·g; v = v·β2 + (1-β2)·(g·g);
 *       p += step_size · m / (sqrt(v) + eps·c2)} with {@code c1 = 1 - β1^t}, {@code c2 = sqrt(1 - β2^t)},
 *       {@code step_size = -lr·c2/c1}; then {@code p *= 1 - lr·wd}. Weight decay comes after the Adam
 *       update here, unlike torch's AdamW, and eps is scaled by c2: bnb's own formulation.</li>
 *   <li>Larger ones keep m as uint8 codes into the signed dynamic map ({@code create_dynamic_map(signed=True)},
 *       "dynamic") and v into the unsigned one ({@code signed=False}, "udynamic"), each with one fp32
 *       absmax per block of 256 elements ({@code BLOCKSIZE_2STATE 256}; older releases used
 *       2048). State starts as code 0 with absmax 0. Per block ({@code kOptimizerStatic8bit2StateBlockwise<ADAM>}):
 *       dequantize {@code code[q]·absmax}, update m and v as above (but {@code ((1-β2)·g)·g}), a
 *       non-finite gradient zeroes both moments and leaves p alone; the new absmax is the block's
 *       max |m| (|v|); p is updated from the fp32 moments, then decayed; m/absmax and v/absmax are
 *       requantized with the kernel's binary search ({@link Blockwise8bit#quantizeValue}, evaluated
 *       by table lookup in {@link CodeSearch}; the search
 *       returns what {@code quantize_2D} does for both maps: their bracket-end defaults differ
 *       only where the upper end is code[255] = 1.0 in both, or where both searches return index 0),
 *       and an m code whose sign differs from m's is moved one code toward m's sign
 *       (uint8 wrap-around included).</li>
 * </ul>
 *
 * <p>Not matched bit for bit: bitsandbytes is built with {@code --use_fast_math}, so its
 * {@code __powf}, {@code __fdividef}, {@code sqrtf} and the division by absmax are approximate on
 * the GPU, and nvcc may contract the multiply-adds into fmas; here they are IEEE float operations in
 * the order the source writes them. {@code percentile_clipping} (100 = off), {@code max_unorm} and
 * {@code skip_zeros} are left at their AdamW8bit defaults and not offered.
 */
public final class AdamW8bit implements Optimizer {
    static final String KIND = "adamw_bnb";
    /** bitsandbytes' {@code min_8bit_size} default. */
    public static final long MIN_8BIT_SIZE = 4096;
    /** bitsandbytes' {@code BLOCKSIZE_2STATE}: elements per absmax in blockwise optimizer state. */
    public static final int BLOCKSIZE = 256;

    private static final float[] SIGNED = DynamicMap.signed();
    private static final float[] UNSIGNED = DynamicMap.unsigned();
    private static final CodeSearch SIGNED_SEARCH = new CodeSearch(SIGNED);
    private static final CodeSearch UNSIGNED_SEARCH = new CodeSearch(UNSIGNED);

    private final List<Param> params;
    private final AdamHyperparameters hp;
    private final StateStore store;
    private final long min8bitSize;
    private final Tensor[] state1;
    private final Tensor[] state2;
    private final Tensor[] absmax1; // null for fp32 state
    private final Tensor[] absmax2;
    private long step;

    public AdamW8bit(List<Param> params, AdamHyperparameters hp, StateStore store) {
        this(params, hp, store, MIN_8BIT_SIZE);
    }

    public AdamW8bit(List<Param> params, AdamHyperparameters hp, StateStore store, long min8bitSize) {
        this.params = List.copyOf(params);
        this.hp = hp;
        this.store = store;
        this.min8bitSize = min8bitSize;
        int n = this.params.size();
        state1 = new Tensor[n];
        state2 = new Tensor[n];
        absmax1 = new Tensor[n];
        absmax2 = new Tensor[n];
        for (int i = 0; i < n; i++) {
            Shape shape = this.params.get(i).value().shape();
            if (is8bit(i)) {
                state1[i] = store.allocate(DType.U8, shape);
                state2[i] = store.allocate(DType.U8, shape);
                Shape blocks = Shape.of(Math.ceilDiv(shape.numel(), BLOCKSIZE));
                absmax1[i] = store.allocate(DType.F32, blocks);
                absmax2[i] = store.allocate(DType.F32, blocks);
            } else {
                state1[i] = store.allocate(DType.F32, shape);
                state2[i] = store.allocate(DType.F32, shape);
            }
        }
    }

    /** Whether parameter {@code i} keeps 8-bit state (bitsandbytes: {@code p.numel() >= min_8bit_size}). */
    public boolean is8bit(int i) {
        return params.get(i).numel() >= min8bitSize;
    }

    /** The kernels' float arguments; bitsandbytes passes the Python doubles as C floats. */
    record Constants(float beta1, float beta2, float eps, float lr, float weightDecay,
                     float correction2, float stepSize) {
        static Constants of(AdamHyperparameters hp, double lr, long step) {
            float b1 = (float) hp.beta1();
            float b2 = (float) hp.beta2();
            float lrf = (float) lr;
            // powf(beta, step) with the int step promoted to float, correctly rounded here
            float c1 = 1.0f - (float) Math.pow(b1, (float) step);
            float c2 = (float) Math.sqrt(1.0f - (float) Math.pow(b2, (float) step));
            return new Constants(b1, b2, (float) hp.eps(), lrf, (float) hp.weightDecay(), c2, -lrf * c2 / c1);
        }

        /** For parameters exempt from decay: bitsandbytes skips the decay when weight_decay is 0. */
        Constants withoutDecay() {
            return new Constants(beta1, beta2, eps, lr, 0.0f, correction2, stepSize);
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
        Constants decayed = Constants.of(hp, lr, step);
        for (int i = 0; i < params.size(); i++) {
            Param param = params.get(i);
            Constants own = param.lrScale() == 1.0 ? decayed : Constants.of(hp, lr * param.lrScale(), step);
            Constants c = param.decay() ? own : own.withoutDecay();
            MemorySegment p = params.get(i).value().data();
            MemorySegment g = params.get(i).grad().data();
            MemorySegment s1 = state1[i].data();
            MemorySegment s2 = state2[i].data();
            long n = params.get(i).numel();
            if (is8bit(i)) {
                MemorySegment a1 = absmax1[i].data();
                MemorySegment a2 = absmax2[i].data();
                store.update(n, BLOCKSIZE, (from, to) -> update8bit(p, g, s1, s2, a1, a2, from, to, c));
            } else {
                store.update(n, 1, (from, to) -> update32bit(p, g, s1, s2, from, to, c));
            }
        }
    }

    /** {@code kOptimizer32bit2State<ADAM>} with gnorm_scale = update_scale = 1. */
    static void update32bit(MemorySegment ps, MemorySegment gs, MemorySegment s1s, MemorySegment s2s,
                            long from, long to, Constants c) {
        float omb1 = 1.0f - c.beta1();
        float omb2 = 1.0f - c.beta2();
        float decay = 1.0f - c.lr() * c.weightDecay();
        float epsC2 = c.eps() * c.correction2();
        for (long i = from; i < to; i++) {
            long off = i * Float.BYTES;
            float g = gs.get(Layouts.F32, off);
            float s1 = s1s.get(Layouts.F32, off) * c.beta1() + omb1 * g;
            float s2 = s2s.get(Layouts.F32, off) * c.beta2() + omb2 * (g * g);
            float p = ps.get(Layouts.F32, off) + c.stepSize() * (s1 / ((float) Math.sqrt(s2) + epsC2));
            if (c.weightDecay() > 0.0f) p = p * decay;
            ps.set(Layouts.F32, off, p);
            s1s.set(Layouts.F32, off, s1);
            s2s.set(Layouts.F32, off, s2);
        }
    }

    /** {@code kOptimizerStatic8bit2StateBlockwise<ADAM>} over whole blocks starting at {@code from}. */
    static void update8bit(MemorySegment ps, MemorySegment gs, MemorySegment q1s, MemorySegment q2s,
                           MemorySegment a1s, MemorySegment a2s, long from, long to, Constants c) {
        float omb1 = 1.0f - c.beta1();
        float omb2 = 1.0f - c.beta2();
        float decay = 1.0f - c.lr() * c.weightDecay();
        float epsC2 = c.correction2() * c.eps();
        float[] s1 = new float[BLOCKSIZE];
        float[] s2 = new float[BLOCKSIZE];
        for (long base = from; base < to; base += BLOCKSIZE) {
            int len = (int) Math.min(BLOCKSIZE, to - base);
            long b = base / BLOCKSIZE * Float.BYTES;
            float absmax1 = a1s.get(Layouts.F32, b);
            float absmax2 = a2s.get(Layouts.F32, b);
            float max1 = -Float.MAX_VALUE;
            float max2 = -Float.MAX_VALUE;
            for (int j = 0; j < len; j++) {
                long e = base + j;
                float g = gs.get(Layouts.F32, e * Float.BYTES);
                if (Float.isFinite(g)) {
                    float v = UNSIGNED[q2s.get(Layouts.U8, e) & 0xFF] * absmax2;
                    s2[j] = v * c.beta2() + omb2 * g * g;
                    float m = SIGNED[q1s.get(Layouts.U8, e) & 0xFF] * absmax1;
                    s1[j] = m * c.beta1() + omb1 * g;
                } else {
                    s1[j] = 0.0f;
                    s2[j] = 0.0f;
                }
                max1 = fmaxf(max1, Math.abs(s1[j]));
                max2 = fmaxf(max2, Math.abs(s2[j]));
            }
            a1s.set(Layouts.F32, b, max1);
            a2s.set(Layouts.F32, b, max2);
            for (int j = 0; j < len; j++) {
                long e = base + j;
                long off = e * Float.BYTES;
                float g = gs.get(Layouts.F32, off);
                if (Float.isFinite(g)) {
                    float p = ps.get(Layouts.F32, off) + c.stepSize() * (s1[j] / ((float) Math.sqrt(s2[j]) + epsC2));
                    if (c.weightDecay() > 0.0f) p = p * decay;
                    ps.set(Layouts.F32, off, p);
                }
                int c1 = SIGNED_SEARCH.quantize(s1[j] / max1);
                int c2 = UNSIGNED_SEARCH.quantize(s2[j] / max2);
                // keep m's sign through quantization (v is never negative)
                if (signbit(SIGNED[c1]) != signbit(s1[j])) c1 = (c1 + (s1[j] > 0.0f ? 1 : -1)) & 0xFF;
                q1s.set(Layouts.U8, e, (byte) c1);
                q2s.set(Layouts.U8, e, (byte) c2);
            }
        }
    }

    /** C's fmaxf: a NaN argument loses. */
    private static float fmaxf(float a, float b) {
        if (Float.isNaN(b)) return a;
        if (Float.isNaN(a)) return b;
        return Math.max(a, b);
    }

    private static boolean signbit(float x) {
        return Float.floatToRawIntBits(x) < 0;
    }

    @Override
    public OptimizerState saveState() {
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            String name = params.get(i).name();
            tensors.put(name + ".state1", state1[i]);
            tensors.put(name + ".state2", state2[i]);
            if (absmax1[i] != null) {
                tensors.put(name + ".absmax1", absmax1[i]);
                tensors.put(name + ".absmax2", absmax2[i]);
            }
        }
        Map<String, String> scalars = new LinkedHashMap<>();
        scalars.put(OptimizerState.KIND, KIND);
        scalars.put(OptimizerState.STEP, Long.toString(step));
        scalars.putAll(hp.asScalars());
        scalars.put("min_8bit_size", Long.toString(min8bitSize));
        scalars.put("block_size", Integer.toString(BLOCKSIZE));
        return new OptimizerState(tensors, scalars);
    }

    @Override
    public void loadState(OptimizerState state) {
        StateCopy.checkKind(state, KIND);
        for (int i = 0; i < params.size(); i++) {
            String name = params.get(i).name();
            StateCopy.copyInto(state, name + ".state1", state1[i]);
            StateCopy.copyInto(state, name + ".state2", state2[i]);
            if (absmax1[i] != null) {
                StateCopy.copyInto(state, name + ".absmax1", absmax1[i]);
                StateCopy.copyInto(state, name + ".absmax2", absmax2[i]);
            }
        }
        step = StateCopy.step(state);
    }

    @Override
    public void close() {
        store.close();
    }
}
