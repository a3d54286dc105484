package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Causal grouped-query flash attention on the device (cuda/flash_attention.cu), BF16 only:
 * q / out / dOut / dq {@code [tokens, hq, headDim]}, k / v / dk / dv {@code [tokens, hkv, headDim]},
 * lse {@code [tokens, hq]} F32 (natural log), headDim 64 or 128. The math of
 * {@code jlora.backend.cpu.CpuAttention} (scale 1/√headDim); documents of a packed batch are
 * given as {@link SequencePacking} (uploaded with {@link #upload}). The backward is deterministic.
 * {@link #decode} is one query token against a KV cache, split across blocks.
 * <p>{@link Version} picks the forward / backward / decode kernels; both compute the same function with
 * the same bf16 roundings (bench/results/flash-attention-plan.md records each one's speed).
 */
public final class FlashAttentionKernels {
    /** Kernel generations. */
    public enum Version {
        /** cuda/flash_attention.cu: 4-warp blocks, 32/16-bit shared loads, no pipelining; decode a warp per key. */
        V1("", "", ""),
        /**
         * cuda/flash_attention_v2.cu: 8-warp blocks, ldmatrix, cp.async double buffering; decode
         * reads each kv head's cache once for its query heads (k, v 16-byte aligned).
         */
        V2("_v2", "_v2", "_v2"),
        /** V2 with forward warps of 32 rows (two m16 tiles: each K/V fragment feeds both). */
        V3("_v3", "_v2", "_v2"),
        /**
         * V3's forward with a backward on 2-D warp tiles (scores 32 × 32 per warp, P and dS staged
         * through shared memory, then 32 rows × D/2 columns of dQ / dK / dV per warp).
         */
        V4("_v3", "_v4", "_v2"),
        /** V3 with v2's backward kernels in 4-warp blocks: two blocks per SM instead of one. */
        V5("_v3", "_v5", "_v2");

        private final String forward, backward, decode;

        Version(String forward, String backward, String decode) {
            this.forward = forward;
            this.backward = backward;
            this.decode = decode;
        }
    }

    private final CudaApi api;
    private final Version version;
    private final String forwardName, backwardName, decodeName;
    private final MethodHandle forward, backward, backwardWorkspace, decode, decodeWorkspace;

    /**
     * The fastest version that has passed GPU parity: V3 (H100, 2026-11-24 23:58: every version
     * passed; V3 had the best forward and forward + backward; bench/results/flash-attention-plan.md).
     */
    public FlashAttentionKernels(CudaApi api) {
        this(api, Version.V3);
    }

    public FlashAttentionKernels(CudaApi api, Version version) {
        this.api = api;
        this.version = version;
        forwardName = "jl_flash_attention_forward" + version.forward;
        backwardName = "jl_flash_attention_backward" + version.backward;
        decodeName = "jl_flash_decode" + version.decode;
        forward = api.bindStatus(forwardName, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        backward = api.bindStatus(backwardName, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS);
        backwardWorkspace = api.bind("jl_flash_attention_backward_workspace_bytes",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT));
        decode = api.bindStatus(decodeName, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        decodeWorkspace = api.bind("jl_flash_decode_workspace_bytes",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT));
    }

    public Version version() {
        return version;
    }

    /** The native decode entry point this version uses (several versions share one). */
    public String decodeFunction() {
        return decodeName;
    }

    /** The packing's cu_seqlens as a device i32 buffer; the caller closes it. */
    public DeviceBuffer upload(SequencePacking packing) {
        int[] cu = packing.cuSeqlens();
        DeviceBuffer b = new DeviceBuffer(api, 4L * cu.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4L * cu.length, 16);
            MemorySegment.copy(cu, 0, host, ValueLayout.JAVA_INT, 0, cu.length);
            b.copyFrom(host);
        }
        return b;
    }

    /** out, lse of the causal attention of every document. */
    public void forward(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, SequencePacking packing, DeviceBuffer cuSeqlens,
            int hq, int hkv, int headDim, DeviceBuffer out, DeviceBuffer lse) {
        long t = packing.totalTokens();
        long qb = 2 * t * hq * headDim, kb = 2 * t * hkv * headDim;
        MemorySegment qs = q.at(0, qb), ks = k.at(0, kb), vs = v.at(0, kb), os = out.at(0, qb), ls = lse.at(0, 4 * t * hq);
        MemorySegment cu = cuSeqlens.at(0, 4L * (packing.batch() + 1));
        int batch = packing.batch(), max = packing.maxSeqlen();
        api.run(forwardName, () -> (int) forward.invokeExact(qs, ks, vs, cu, batch, max, t, hq, hkv,
                headDim, os, ls, MemorySegment.NULL));
    }

    public long backwardWorkspaceBytes(long tokens, int hq) {
        long bytes = CudaApi.call(() -> (long) backwardWorkspace.invokeExact(tokens, hq));
        if (bytes < 0) throw new IllegalArgumentException("attention shape tokens=" + tokens + " hq=" + hq + " not supported");
        return bytes;
    }

    /** dq, dk, dv (overwritten) from dOut and the forward's out and lse. */
    public void backward(DeviceBuffer dOut, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out,
            DeviceBuffer lse, SequencePacking packing, DeviceBuffer cuSeqlens, int hq, int hkv, int headDim,
            DeviceBuffer dq, DeviceBuffer dk, DeviceBuffer dv, DeviceBuffer workspace) {
        long t = packing.totalTokens();
        long qb = 2 * t * hq * headDim, kb = 2 * t * hkv * headDim;
        MemorySegment gs = dOut.at(0, qb), qs = q.at(0, qb), ks = k.at(0, kb), vs = v.at(0, kb), os = out.at(0, qb);
        MemorySegment ls = lse.at(0, 4 * t * hq), cu = cuSeqlens.at(0, 4L * (packing.batch() + 1));
        MemorySegment dqs = dq.at(0, qb), dks = dk.at(0, kb), dvs = dv.at(0, kb);
        MemorySegment ws = workspace.at(0, backwardWorkspaceBytes(t, hq));
        int batch = packing.batch(), max = packing.maxSeqlen();
        api.run(backwardName, () -> (int) backward.invokeExact(gs, qs, ks, vs, os, ls, cu, batch, max,
                t, hq, hkv, headDim, dqs, dks, dvs, ws, MemorySegment.NULL));
    }

    public long decodeWorkspaceBytes(long len, int hq, int headDim) {
        long bytes = CudaApi.call(() -> (long) decodeWorkspace.invokeExact(len, hq, headDim));
        if (bytes < 0) throw new IllegalArgumentException("decode shape len=" + len + " hq=" + hq + " headDim=" + headDim + " not supported");
        return bytes;
    }

    /** out [hq, headDim] (and lse [hq] unless null) of one query token q over a cache of len keys. */
    public void decode(DeviceBuffer q, DeviceBuffer kCache, DeviceBuffer vCache, long len, int hq, int hkv, int headDim,
            DeviceBuffer out, DeviceBuffer lse, DeviceBuffer workspace) {
        long kb = 2 * len * hkv * headDim;
        MemorySegment qs = q.at(0, 2L * hq * headDim), ks = kCache.at(0, kb), vs = vCache.at(0, kb);
        MemorySegment os = out.at(0, 2L * hq * headDim), ls = lse == null ? MemorySegment.NULL : lse.at(0, 4L * hq);
        MemorySegment ws = workspace.at(0, decodeWorkspaceBytes(len, hq, headDim));
        api.run(decodeName, () -> (int) decode.invokeExact(qs, ks, vs, len, hq, hkv, headDim, os, ls, ws,
                MemorySegment.NULL));
    }
}
