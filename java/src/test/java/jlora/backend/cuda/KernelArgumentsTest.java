package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The kernel launchers' argument checks in native/*.cpp, which return before any CUDA call and
 * so run wherever the library loads (no GPU needed; skipped without nvcc). The oracle is the C
 * ABI's contract in native/jlora_cuda.h: a bad argument is JL_ERR_ARGUMENT (-1) with a message
 * naming it; an empty launch is a success that touches no device; the workspace sizes are the
 * documented formulas.
 */
class KernelArgumentsTest {
    private static final MemorySegment NULL = MemorySegment.NULL;
    private CudaApi api;

    @BeforeEach
    void requireLibrary() {
        assumeTrue(NativeLibrary.load() instanceof NativeLibrary.Loaded, () -> "no native library: " + CudaDevices.describe());
        api = CudaApi.require();
    }

    private void assertArgumentError(String function, String text, CudaApi.Downcall<Integer> call) {
        CudaException e = assertThrows(CudaException.class, () -> api.run(function, call));
        assertEquals(-1, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
    }

    @Test
    void nf4DequantRefusesBadBlocksizeAndMisalignedPointers() {
        MethodHandle h = api.bindStatus("jl_nf4_dequant_bf16", ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        MemorySegment a16 = MemorySegment.ofAddress(1 << 20), a8 = MemorySegment.ofAddress((1 << 20) + 8);
        assertArgumentError("jl_nf4_dequant_bf16", "multiple of 32", () -> (int) h.invokeExact(a16, a16, 64L, 48, a16, NULL));
        assertArgumentError("jl_nf4_dequant_bf16", "16-byte aligned", () -> (int) h.invokeExact(a8, a16, 64L, 64, a16, NULL));
        assertArgumentError("jl_nf4_dequant_bf16", "null", () -> (int) h.invokeExact(NULL, a16, 64L, 64, a16, NULL));
        api.run("jl_nf4_dequant_bf16", () -> (int) h.invokeExact(a16, a16, 0L, 64, a16, NULL));
    }

    @Test
    void ropeRefusesBadSignAndTooFewHeadDims() {
        MethodHandle h = api.bindStatus("jl_rope", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_FLOAT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
        MemorySegment p = MemorySegment.ofAddress(1 << 20);
        assertArgumentError("jl_rope", "sign", () -> (int) h.invokeExact(p, p, p, 4, 3L, 2, 8, 1f, 0, p, 0, NULL));
        assertArgumentError("jl_rope", "2*half <= head_dim", () -> (int) h.invokeExact(p, p, p, 5, 3L, 2, 8, 1f, 1, p, 0, NULL));
        assertArgumentError("jl_rope", "half <= 512", () -> (int) h.invokeExact(p, p, p, 513, 3L, 2, 2048, 1f, 1, p, 1, NULL));
        assertArgumentError("jl_rope", "dtype must be 0 (f32) or 1 (bf16), got 7",
                () -> (int) h.invokeExact(p, p, p, 4, 3L, 2, 8, 1f, 1, p, 7, NULL));
    }

    @Test
    void optimizerAndNormChecks() {
        MethodHandle step = api.bindStatus("jl_adamw_step", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_FLOAT,
                JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_LONG, ADDRESS, ADDRESS);
        MemorySegment p = MemorySegment.ofAddress(1 << 20);
        assertArgumentError("jl_adamw_step", "step counts from 1",
                () -> (int) step.invokeExact(p, p, p, p, 4L, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0L, NULL, NULL));
        MethodHandle ws = api.bind("jl_grad_norm_workspace_bytes", FunctionDescriptor.of(JAVA_LONG));
        assertEquals(4096L, (long) CudaApi.call(() -> (long) ws.invokeExact()));
    }

    @Test
    void rmsNormWorkspaceIsOneRowOfPartialsPerSixtyFourRows() {
        MethodHandle ws = api.bind("jl_rms_norm_workspace_bytes", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        assertEquals(4L * 3 * 257, (long) CudaApi.call(() -> (long) ws.invokeExact(130L, 257L)));
        assertEquals(4L * 1 * 896, (long) CudaApi.call(() -> (long) ws.invokeExact(64L, 896L)));
        assertEquals(-1L, (long) CudaApi.call(() -> (long) ws.invokeExact(5_000_000L, 896L)));
    }

    @Test
    void emptyLaunchesSucceedWithoutTheDevice() {
        MethodHandle sw = api.bindStatus("jl_swiglu_forward", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS);
        api.run("jl_swiglu_forward", () -> (int) sw.invokeExact(NULL, NULL, 0L, NULL, 1, NULL));
        MethodHandle emb = api.bindStatus("jl_embedding_forward", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        api.run("jl_embedding_forward", () -> (int) emb.invokeExact(NULL, NULL, 0L, 10L, 4L, NULL, NULL, 0, NULL));
        assertArgumentError("jl_embedding_forward", "null pointer",
                () -> (int) emb.invokeExact(NULL, NULL, 3L, 10L, 4L, NULL, NULL, 0, NULL));
    }

    @Test
    void nf4RowsLoraAndCrossEntropyRefuseBadShapes() {
        MemorySegment p = MemorySegment.ofAddress(1 << 20);
        MethodHandle rows = api.bindStatus("jl_lora_nf4_dequant_rows", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT, JAVA_INT,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
        assertArgumentError("jl_lora_nf4_dequant_rows", "row_stride >= row_len",
                () -> (int) rows.invokeExact(p, p, NULL, NULL, NULL, 0f, 256, 64, 2L, 64L, 60L, p, NULL));
        assertArgumentError("jl_lora_nf4_dequant_rows", "blocksize must be positive",
                () -> (int) rows.invokeExact(p, p, NULL, NULL, NULL, 0f, 256, 0, 2L, 64L, 72L, p, NULL));
        assertArgumentError("jl_lora_nf4_dequant_rows", "missing absmax",
                () -> (int) rows.invokeExact(p, NULL, NULL, NULL, NULL, 0f, 256, 64, 2L, 64L, 72L, p, NULL));
        MethodHandle cast = api.bindStatus("jl_lora_cast_rows", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_FLOAT, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, ADDRESS);
        assertArgumentError("jl_lora_cast_rows", "ld < cols",
                () -> (int) cast.invokeExact(p, 0, 10L, p, 9L, 4L, 10L, 1f, 0L, 0L, 1f, NULL));
        api.run("jl_lora_cast_rows", () -> (int) cast.invokeExact(NULL, 1, 10L, NULL, 10L, 0L, 10L, 1f, 0L, 0L, 1f, NULL));
        MethodHandle fwd = api.bindStatus("jl_lmce_chunk_forward", ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                ADDRESS, ADDRESS);
        assertArgumentError("jl_lmce_chunk_forward", "ld < cols", () -> (int) fwd.invokeExact(p, 8L, p, 4L, 16L, 0L, 1, p, NULL));
        assertArgumentError("jl_lmce_chunk_forward", "null", () -> (int) fwd.invokeExact(p, 16L, NULL, 4L, 16L, 0L, 1, p, NULL));
        MethodHandle scatter = api.bindStatus("jl_lmce_scatter_rows", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG,
                JAVA_INT, ADDRESS);
        assertArgumentError("jl_lmce_scatter_rows", "dtype must be", () -> (int) scatter.invokeExact(p, 4L, 8L, p, p, 3, 8L, 0, NULL));
    }
}
