package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import jlora.quant.DynamicMap;

/**
 * bitsandbytes' AdamW with blockwise 8-bit state on the device (cuda/adamw8bit.cu), bit-identical
 * to the CPU's jlora.train.AdamW8bit: the 8-bit step over a parameter whose codes and absmax are
 * either resident on the device ({@link DeviceState}) or paged ({@link HostState} in pinned host
 * memory, streamed through a {@link Pager}'s two device chunks), and bitsandbytes' fp32-state step
 * for parameters under {@code min_8bit_size}. Holds the two dynamic maps on the device.
 */
public final class AdamW8bitKernels implements AutoCloseable {
    /** bitsandbytes' BLOCKSIZE_2STATE (jlora.train.AdamW8bit.BLOCKSIZE). */
    public static final int BLOCKSIZE = 256;

    /** The step's floats, exactly jlora.train.AdamW8bit.Constants (made there, for the same bits). */
    public record Scalars(float beta1, float beta2, float eps, float lr, float weightDecay, float correction2,
            float stepSize) {}

    private final CudaApi api;
    private final MethodHandle step8, variants, step32, pagedBytes, pagedCreate, pagedDestroy, pagedStep;
    private final DeviceBuffer signedCode, unsignedCode;

    public AdamW8bitKernels(CudaApi api) {
        this.api = api;
        step8 = api.bindStatus("jl_adamw8bit_step_variant", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_LONG, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, ADDRESS,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        variants = api.bind("jl_adamw8bit_variants", FunctionDescriptor.of(JAVA_INT));
        step32 = api.bindStatus("jl_adamw_bnb32_step", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_FLOAT,
                JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, ADDRESS, ADDRESS);
        pagedBytes = api.bind("jl_adamw8bit_paged_device_bytes", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        pagedCreate = api.bindStatus("jl_adamw8bit_paged_create", JAVA_LONG, ADDRESS);
        pagedDestroy = api.bindStatus("jl_adamw8bit_paged_destroy", ADDRESS);
        pagedStep = api.bindStatus("jl_adamw8bit_paged_step", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        DeviceBuffer s = null;
        try {
            s = upload(api, DynamicMap.signed());
            signedCode = s;
            unsignedCode = upload(api, DynamicMap.unsigned());
        } catch (RuntimeException e) {
            if (s != null) s.close();
            throw e;
        }
    }

    private static DeviceBuffer upload(CudaApi api, float[] code) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4L * code.length, 16);
            MemorySegment.copy(code, 0, host, ValueLayout.JAVA_FLOAT, 0, code.length);
            DeviceBuffer b = new DeviceBuffer(api, host.byteSize());
            b.copyFrom(host);
            return b;
        }
    }

    static long blocks(long n) {
        return Math.ceilDiv(n, (long) BLOCKSIZE);
    }

    /** 8-bit state of {@code n} elements resident on the device, zero-filled (codes 0, absmax 0, as bitsandbytes starts). */
    public record DeviceState(long n, DeviceBuffer q1, DeviceBuffer q2, DeviceBuffer a1, DeviceBuffer a2)
            implements AutoCloseable {
        public static DeviceState allocate(CudaApi api, long n) {
            DeviceBuffer[] b = new DeviceBuffer[4];
            long[] sizes = {Math.max(n, 1), Math.max(n, 1), 4 * Math.max(blocks(n), 1), 4 * Math.max(blocks(n), 1)};
            try {
                for (int i = 0; i < 4; i++) {
                    b[i] = new DeviceBuffer(api, sizes[i]);
                    b[i].fill(0);
                }
            } catch (RuntimeException e) {
                for (DeviceBuffer x : b) if (x != null) x.close();
                throw e;
            }
            return new DeviceState(n, b[0], b[1], b[2], b[3]);
        }

        @Override
        public void close() {
            for (DeviceBuffer x : new DeviceBuffer[] {q1, q2, a1, a2}) x.close();
        }
    }

    /** 8-bit state of {@code n} elements in pinned host memory, zero-filled; read it after synchronizing. */
    public record HostState(long n, PinnedHostBuffer q1, PinnedHostBuffer q2, PinnedHostBuffer a1, PinnedHostBuffer a2)
            implements AutoCloseable {
        public static HostState allocate(CudaApi api, long n) {
            PinnedHostBuffer[] b = new PinnedHostBuffer[4];
            long[] sizes = {n, n, 4 * blocks(n), 4 * blocks(n)};
            try {
                for (int i = 0; i < 4; i++) {
                    b[i] = new PinnedHostBuffer(api, sizes[i]);
                    b[i].segment().fill((byte) 0);
                }
            } catch (RuntimeException e) {
                for (PinnedHostBuffer x : b) if (x != null) x.close();
                throw e;
            }
            return new HostState(n, b[0], b[1], b[2], b[3]);
        }

        @Override
        public void close() {
            for (PinnedHostBuffer x : new PinnedHostBuffer[] {q1, q2, a1, a2}) x.close();
        }
    }

    /**
     * Two device staging chunks of {@code chunkElements} (a multiple of 256) and the copy streams
     * that stream paged state through them; one per optimizer, reused by every parameter's step.
     */
    public final class Pager implements AutoCloseable {
        private final long chunk;
        private MemorySegment handle;

        private Pager(long chunkElements) {
            this.chunk = chunkElements;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ADDRESS);
                api.run("jl_adamw8bit_paged_create", () -> (int) pagedCreate.invokeExact(chunkElements, out));
                handle = out.get(ADDRESS, 0);
            }
        }

        public long chunkElements() {
            return chunk;
        }

        /** Device bytes the two staging chunks take: all the device holds of paged state. */
        public long deviceBytes() {
            return CudaApi.call(() -> (long) pagedBytes.invokeExact(chunk));
        }

        @Override
        public void close() {
            if (handle != null) {
                MemorySegment h = handle;
                handle = null;
                api.run("jl_adamw8bit_paged_destroy", () -> (int) pagedDestroy.invokeExact(h));
            }
        }
    }

    public Pager pager(long chunkElements) {
        if (chunkElements <= 0 || chunkElements % BLOCKSIZE != 0) {
            throw new IllegalArgumentException("page chunk must be a positive multiple of " + BLOCKSIZE + ": " + chunkElements);
        }
        return new Pager(chunkElements);
    }

    private static MemorySegment scale(DeviceBuffer gradScale, int index) {
        return gradScale == null ? MemorySegment.NULL : gradScale.at(4L * index, 4);
    }

    /**
     * One 8-bit step over {@code param} / {@code grad} (f32, {@code st.n()} elements from byte 0)
     * with device-resident state. {@code gradScale}: null, or a device buffer whose float at
     * {@code gradScaleIndex} multiplies every gradient first (the clip coefficient
     * {@link AdamWKernels#gradNorm} wrote).
     */
    public void step(DeviceBuffer param, DeviceBuffer grad, DeviceState st, Scalars c, DeviceBuffer gradScale,
            int gradScaleIndex) {
        step(param, grad, st, c, gradScale, gradScaleIndex, 0);
    }

    /** How many kernel variants the resident step takes (cuda/adamw8bit.cuh lists them; all bit-identical). */
    public int variants() {
        return CudaApi.call(() -> (int) variants.invokeExact());
    }

    /** The resident step by kernel {@code variant} in [0, {@link #variants()}): the benchmark's and parity test's choice. */
    public void step(DeviceBuffer param, DeviceBuffer grad, DeviceState st, Scalars c, DeviceBuffer gradScale,
            int gradScaleIndex, int variant) {
        long n = st.n();
        long ab = 4 * blocks(n);
        MemorySegment p = param.at(0, 4 * n), g = grad.at(0, 4 * n), q1 = st.q1().at(0, n), q2 = st.q2().at(0, n);
        MemorySegment a1 = st.a1().at(0, ab), a2 = st.a2().at(0, ab), s = scale(gradScale, gradScaleIndex);
        MemorySegment sc = signedCode.at(0, 1024), uc = unsignedCode.at(0, 1024);
        api.run("jl_adamw8bit_step_variant", () -> (int) step8.invokeExact(p, g, q1, q2, a1, a2, n, c.beta1(), c.beta2(),
                c.eps(), c.lr(), c.weightDecay(), c.correction2(), c.stepSize(), s, sc, uc, variant, MemorySegment.NULL));
    }

    /** As {@link #step(DeviceBuffer, DeviceBuffer, DeviceState, Scalars, DeviceBuffer, int)} with paged state. */
    public void step(DeviceBuffer param, DeviceBuffer grad, HostState st, Pager pager, Scalars c, DeviceBuffer gradScale,
            int gradScaleIndex) {
        if (pager.handle == null) throw new IllegalStateException("pager already closed");
        long n = st.n();
        MemorySegment h = pager.handle;
        MemorySegment p = param.at(0, 4 * n), g = grad.at(0, 4 * n);
        MemorySegment q1 = st.q1().segment(), q2 = st.q2().segment(), a1 = st.a1().segment(), a2 = st.a2().segment();
        MemorySegment s = scale(gradScale, gradScaleIndex);
        MemorySegment sc = signedCode.at(0, 1024), uc = unsignedCode.at(0, 1024);
        api.run("jl_adamw8bit_paged_step", () -> (int) pagedStep.invokeExact(h, p, g, q1, q2, a1, a2, n, c.beta1(),
                c.beta2(), c.eps(), c.lr(), c.weightDecay(), c.correction2(), c.stepSize(), s, sc, uc, MemorySegment.NULL));
    }

    /** bitsandbytes' fp32-state step ({@code n} elements of f32 param, grad, m, v), for parameters under min_8bit_size. */
    public void stepFp32(DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v, long n, Scalars c,
            DeviceBuffer gradScale, int gradScaleIndex) {
        long bytes = 4 * n;
        MemorySegment p = param.at(0, bytes), g = grad.at(0, bytes), ms = m.at(0, bytes), vs = v.at(0, bytes);
        MemorySegment s = scale(gradScale, gradScaleIndex);
        api.run("jl_adamw_bnb32_step", () -> (int) step32.invokeExact(p, g, ms, vs, n, c.beta1(), c.beta2(), c.eps(),
                c.lr(), c.weightDecay(), c.correction2(), c.stepSize(), s, MemorySegment.NULL));
    }

    @Override
    public void close() {
        signedCode.close();
        unsignedCode.close();
    }
}
