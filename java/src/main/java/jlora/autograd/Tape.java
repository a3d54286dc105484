package jlora.autograd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jlora.backend.Backend;
import jlora.backend.Workspace;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;

/**
 * A tape of coarse ops (llm.c style): the forward appends one {@link Node} per op with what its
 * hand-written backward needs; {@link #backward} runs those in reverse. Only tensors that depend
 * on a trainable parameter get gradients. Parameter gradients go into buffers the caller owns and
 * are accumulated there (micro-batches add up); activation gradients live in the tape's arena.
 *
 * <p>The tape owns one {@link Workspace} of its backend (host memory for the CPU, device memory for
 * CUDA): every activation and gradient an op allocates comes from it and is freed by
 * {@link #close()}. Bytes move only through the backend ({@link Backend#copy}), so the same tape
 * runs on either device.
 */
public final class Tape implements AutoCloseable {
    /** One recorded op: its inputs and outputs (by identity) and its backward. */
    public record Node(String name, List<Tensor> inputs, List<Tensor> outputs, Backward backward) {}

    /** The hand-written backward of one op. */
    @FunctionalInterface
    public interface Backward {
        void run(Gradients g);
    }

    /** What a node's backward sees: gradients of its outputs, buffers for its inputs' gradients. */
    public interface Gradients {
        /** dL/d(output), or null if nothing downstream reached it. */
        Tensor of(Tensor output);

        /** A fresh buffer for dL/d(input) that the op overwrites, or null if the input needs none. */
        Tensor sink(Tensor input);

        /** The caller's accumulating gradient buffer of a trainable parameter, or null if frozen. */
        Tensor param(Tensor parameter);

        /** The factor each counted token's loss carries in the objective (1/N for a mean). */
        float lossScale();
    }

    final Backend backend;
    private final Workspace workspace;
    private final boolean recording;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<Tensor, Tensor> paramGrads;
    private final Set<Tensor> needsGrad = Collections.newSetFromMap(new IdentityHashMap<>());

    /** A recording tape with no parameters yet. */
    public Tape(Backend backend) {
        this(backend, true, new IdentityHashMap<>());
    }

    private Tape(Backend backend, boolean recording, Map<Tensor, Tensor> paramGrads) {
        this.backend = backend;
        this.workspace = backend.workspace();
        this.recording = recording;
        this.paramGrads = paramGrads;
        needsGrad.addAll(paramGrads.keySet());
    }

    public Backend backend() {
        return backend;
    }

    /** Marks {@code parameter} trainable; its gradient is accumulated into {@code grad} (F32, same shape). */
    public void trainable(Tensor parameter, Tensor grad) {
        if (grad.dtype() != DType.F32 || !grad.shape().equals(parameter.shape())) {
            throw new IllegalArgumentException("gradient buffer " + grad + " does not fit parameter " + parameter);
        }
        paramGrads.put(parameter, grad);
        needsGrad.add(parameter);
    }

    /** Zero-filled F32 storage that lives as long as this tape. */
    public Tensor allocate(long... dims) {
        return workspace.allocate(DType.F32, Shape.of(dims));
    }

    /** An I32 tensor {@code [v.length]} in the backend's memory holding {@code v} (token ids, positions). */
    public Tensor ints(int[] v) {
        Tensor t = workspace.allocate(DType.I32, Shape.of(v.length));
        try (Arena host = Arena.ofConfined()) {
            Tensor src = Tensor.allocate(DType.I32, Shape.of(v.length), host);
            MemorySegment.copy(v, 0, src.data(), ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                    0, v.length);
            backend.copy(src, t);
        }
        return t;
    }

    public boolean needsGrad(Tensor t) {
        return needsGrad.contains(t);
    }

    /**
     * Appends an op. Nothing is recorded when no input needs a gradient (frozen prefix of the
     * graph) or when this tape does not record (the forward of a checkpointed block).
     */
    public void record(String name, List<Tensor> inputs, List<Tensor> outputs, Backward backward) {
        record(name, inputs, outputs, backward, false);
    }

    private void record(String name, List<Tensor> inputs, List<Tensor> outputs, Backward backward, boolean force) {
        if (!recording) return;
        boolean any = force;
        for (Tensor t : inputs) any |= needsGrad.contains(t);
        if (!any) return;
        needsGrad.addAll(outputs);
        nodes.add(new Node(name, List.copyOf(inputs), List.copyOf(outputs), backward));
    }

    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    /** Runs every node's backward in reverse; the loss ops read {@code lossScale}. */
    public Map<Tensor, Tensor> backward(float lossScale) {
        return backward(new IdentityHashMap<>(), lossScale);
    }

    /**
     * Runs the backward from given output gradients ({@code seeds}: tensor → dL/dtensor) and
     * returns every activation gradient formed (identity map), for a checkpointed block.
     */
    public Map<Tensor, Tensor> backward(Map<Tensor, Tensor> seeds, float lossScale) {
        Map<Tensor, Tensor> grads = new IdentityHashMap<>(seeds);
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node node = nodes.get(i);
            Map<Tensor, Tensor> sinks = new IdentityHashMap<>();
            node.backward().run(new Gradients() {
                @Override
                public Tensor of(Tensor output) {
                    return grads.get(output);
                }

                @Override
                public Tensor sink(Tensor input) {
                    if (!needsGrad.contains(input) || paramGrads.containsKey(input)) return null;
                    return sinks.computeIfAbsent(input, t -> workspace.allocate(DType.F32, t.shape()));
                }

                @Override
                public Tensor param(Tensor parameter) {
                    return paramGrads.get(parameter);
                }

                @Override
                public float lossScale() {
                    return lossScale;
                }
            });
            // An input used by several ops collects the sum of their gradients.
            for (var e : sinks.entrySet()) {
                Tensor prior = grads.get(e.getKey());
                if (prior == null) grads.put(e.getKey(), e.getValue());
                else backend.add(prior, e.getValue(), prior);
            }
        }
        return grads;
    }

    /**
     * Gradient checkpointing of one block (a decoder layer): the forward runs {@code block} on a
     * tape that records nothing, so only {@code inputs} and the output are kept; the backward
     * re-runs the forward on a nested recording tape, back-propagates through it, and hands the
     * inputs' gradients to this tape. Parameters the block touches keep accumulating into the
     * same buffers. The block must be deterministic (dropout seeded, as {@link jlora.backend.Dropout} is).
     */
    public Tensor checkpoint(String name, List<Tensor> inputs, Block block) {
        Tensor out;
        try (Tape plain = new Tape(backend, false, paramGrads)) {
            Tensor o = block.forward(plain, inputs);
            out = allocate(o.shape().dims());
            backend.copy(o, out);
        }
        // Recorded whenever parameters exist: the block may hold some even if its inputs need no gradient.
        record(name, inputs, List.of(out), g -> {
            Tensor dOut = g.of(out);
            if (dOut == null) return;
            try (Tape nested = new Tape(backend, true, paramGrads)) {
                for (Tensor t : inputs) if (needsGrad.contains(t)) nested.needsGrad.add(t);
                Tensor again = block.forward(nested, inputs);
                if (!nested.needsGrad(again)) return;
                Map<Tensor, Tensor> grads = nested.backward(Map.of(again, dOut), g.lossScale());
                for (Tensor t : inputs) {
                    Tensor sink = g.sink(t), d = grads.get(t);
                    if (sink == null) continue;
                    if (d == null) backend.zero(sink);
                    else backend.copy(d, sink);
                }
            }
        }, !paramGrads.isEmpty());
        return out;
    }

    /** The forward of a checkpointed block, written against the tape it is given. */
    @FunctionalInterface
    public interface Block {
        Tensor forward(Tape tape, List<Tensor> inputs);
    }

    @Override
    public void close() {
        workspace.close();
    }
}
