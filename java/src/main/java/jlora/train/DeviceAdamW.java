package jlora.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import jlora.backend.cuda.AdamWKernels;
import jlora.backend.cuda.CudaApi;
import jlora.backend.cuda.CudaBackend;
import jlora.backend.cuda.DeviceBuffer;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * torch.optim.AdamW with fp32 state on the device (cuda/adamw.cu), over the CUDA backend's flat
 * trainable masters and gradients: one kernel per run of parameters that share the weight-decay
 * rule (LoRA A/B decay, norm weights do not). Its checkpoints are {@link AdamW}'s (same kind,
 * same tensor names), so a run can resume on the other device.
 *
 * <p>The global gradient norm and torch's clip coefficient min(1, max / (norm + 1e-6)) are formed
 * on the device; the step multiplies each gradient by the coefficient as it reads it, so the
 * gradients themselves are not rewritten and only the norm travels to the host.
 */
final class DeviceAdamW implements Optimizer {
    private final CudaBackend backend;
    private final CudaApi api;
    private final AdamWKernels kernels;
    private final List<Param> params;
    private final AdamHyperparameters hp;
    private final CudaBackend.Trainables trainables;
    private final long[] offsets;
    private final Tensor m, v, normOut, normWorkspace;
    private final Arena hostState = Arena.ofShared();
    private Tensor[] hostM, hostV;
    private boolean clipNext;
    private long step;

    DeviceAdamW(CudaBackend backend, List<Param> params, AdamHyperparameters hp) {
        this.backend = backend;
        this.api = CudaApi.require();
        this.kernels = new AdamWKernels(api);
        this.params = List.copyOf(params);
        this.hp = hp;
        this.trainables = backend.trainables();
        if (trainables == null) throw new IllegalStateException("the model registered no trainable parameters on the device");
        offsets = new long[this.params.size()];
        for (int i = 0; i < offsets.length; i++) offsets[i] = offsetOf(this.params.get(i).value());
        long n = trainables.numel();
        m = backend.allocatePersistent(DType.F32, Shape.of(n), "AdamW exp_avg");
        v = backend.allocatePersistent(DType.F32, Shape.of(n), "AdamW exp_avg_sq");
        normOut = backend.allocatePersistent(DType.F32, Shape.of(2), "gradient norm");
        normWorkspace = backend.allocatePersistent(DType.U8, Shape.of(Math.max(1, kernels.gradNormWorkspaceBytes())),
                "gradient norm workspace");
    }

    private long offsetOf(Tensor host) {
        long off = 0;
        for (int i = 0; i < trainables.hosts().size(); i++) {
            if (trainables.hosts().get(i) == host) return off;
            off += trainables.hosts().get(i).numel();
        }
        throw new IllegalArgumentException("parameter " + host + " is not one of the device's trainables");
    }

    private DeviceBuffer view(long base, long elementOffset, long n) {
        return DeviceBuffer.view(api, base + 4 * elementOffset, Math.max(4, 4 * n));
    }

    @Override
    public List<Param> params() {
        return params;
    }

    @Override
    public long stepCount() {
        return step;
    }

    /** The global L2 norm of the gradients; the clip coefficient for {@code maxNorm} (> 0) stays on the device. */
    double gradNorm(double maxNorm) {
        float max = maxNorm > 0 ? (float) maxNorm : Float.MAX_VALUE;
        DeviceBuffer out = DeviceBuffer.view(api, normOut.deviceAddress(), 8);
        kernels.gradNorm(view(trainables.gradsAddress(), 0, trainables.numel()), trainables.numel(), max,
                DeviceBuffer.view(api, normWorkspace.deviceAddress(), normWorkspace.byteSize()), out);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(8, 8);
            api.copyToHost(host, MemorySegment.ofAddress(normOut.deviceAddress()), 8);
            return host.get(ValueLayout.JAVA_FLOAT, 0);
        }
    }

    /** The next {@link #step} multiplies the gradients by the coefficient {@link #gradNorm} formed. */
    void clipNextStep(double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("max grad norm must be positive: " + maxNorm);
        clipNext = true;
    }

    @Override
    public void step(double lr) {
        step++;
        DeviceBuffer scale = clipNext ? DeviceBuffer.view(api, normOut.deviceAddress(), 8) : null;
        clipNext = false;
        // Runs of parameters adjacent in the flat buffers with the same decay rule and lr scale
        // (embedding_learning_rate's group): one launch each.
        int i = 0;
        while (i < params.size()) {
            int j = i;
            long n = params.get(i).numel();
            while (j + 1 < params.size() && params.get(j + 1).decay() == params.get(i).decay()
                    && params.get(j + 1).lrScale() == params.get(i).lrScale()
                    && offsets[j + 1] == offsets[j] + params.get(j).numel()) {
                j++;
                n += params.get(j).numel();
            }
            float wd = params.get(i).decay() ? (float) hp.weightDecay() : 0f;
            double groupLr = lr * params.get(i).lrScale();
            AdamWKernels.Hyper h = new AdamWKernels.Hyper((float) groupLr, (float) hp.beta1(), (float) hp.beta2(),
                    (float) hp.eps(), wd);
            long off = offsets[i];
            kernels.step(view(trainables.valuesAddress(), off, n), view(trainables.gradsAddress(), off, n),
                    view(m.deviceAddress(), off, n), view(v.deviceAddress(), off, n), n, h, step, scale, 1);
            i = j + 1;
        }
    }

    @Override
    public void zeroGrad() {
        for (Param p : params) backend.zero(p.grad());
    }

    private void hostCopies() {
        if (hostM != null) return;
        hostM = new Tensor[params.size()];
        hostV = new Tensor[params.size()];
        for (int i = 0; i < params.size(); i++) {
            hostM[i] = Tensor.allocate(DType.F32, params.get(i).value().shape(), hostState);
            hostV[i] = Tensor.allocate(DType.F32, params.get(i).value().shape(), hostState);
        }
    }

    @Override
    public OptimizerState saveState() {
        hostCopies();
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            Shape s = params.get(i).value().shape();
            backend.copy(m.view(offsets[i], s), hostM[i]);
            backend.copy(v.view(offsets[i], s), hostV[i]);
            tensors.put(params.get(i).name() + ".exp_avg", hostM[i]);
            tensors.put(params.get(i).name() + ".exp_avg_sq", hostV[i]);
        }
        Map<String, String> scalars = new LinkedHashMap<>();
        scalars.put(OptimizerState.KIND, AdamW.KIND);
        scalars.put(OptimizerState.STEP, Long.toString(step));
        scalars.putAll(hp.asScalars());
        return new OptimizerState(tensors, scalars);
    }

    @Override
    public void loadState(OptimizerState state) {
        StateCopy.checkKind(state, AdamW.KIND);
        hostCopies();
        List<Runnable> uploads = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            StateCopy.copyInto(state, params.get(i).name() + ".exp_avg", hostM[i]);
            StateCopy.copyInto(state, params.get(i).name() + ".exp_avg_sq", hostV[i]);
            Shape s = params.get(i).value().shape();
            int k = i;
            uploads.add(() -> {
                backend.copy(hostM[k], m.view(offsets[k], s));
                backend.copy(hostV[k], v.view(offsets[k], s));
            });
        }
        uploads.forEach(Runnable::run); // only after every tensor fitted: nothing half-loaded
        step = StateCopy.step(state);
    }

    @Override
    public void close() {
        hostState.close();
    }
}
