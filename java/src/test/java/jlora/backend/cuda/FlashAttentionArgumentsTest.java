package jlora.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
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
 * native/flash_attention.cpp's argument checks, which return before any CUDA call (no GPU
 * needed; skipped without the library). Oracle: the contract in native/jlora_cuda.h — head_dim
 * 64 or 128, hq a multiple of hkv, 16-byte aligned bf16 buffers, no null pointer unless the
 * launch is empty, and the workspace formulas written there.
 */
class FlashAttentionArgumentsTest {
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
    void forwardRefusesBadShapesAndPointers() {
        for (String fn : new String[] {"jl_flash_attention_forward", "jl_flash_attention_forward_v2", "jl_flash_attention_forward_v3"}) {
            forwardChecks(fn);
        }
    }

    private void forwardChecks(String fn) {
        MethodHandle h = api.bindStatus(fn, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        MemorySegment p = MemorySegment.ofAddress(1 << 20), odd = MemorySegment.ofAddress((1 << 20) + 8);
        assertArgumentError(fn, "head_dim must be 64 or 128", () -> (int) h.invokeExact(p, p, p, p, 1, 8, 8L, 4, 2, 96, p, p, NULL));
        assertArgumentError(fn, "multiple of hkv", () -> (int) h.invokeExact(p, p, p, p, 1, 8, 8L, 7, 2, 64, p, p, NULL));
        assertArgumentError(fn, "null pointer", () -> (int) h.invokeExact(p, NULL, p, p, 1, 8, 8L, 4, 2, 64, p, p, NULL));
        assertArgumentError(fn, "16-byte aligned", () -> (int) h.invokeExact(p, p, odd, p, 1, 8, 8L, 4, 2, 64, p, p, NULL));
        api.run(fn, () -> (int) h.invokeExact(NULL, NULL, NULL, NULL, 0, 0, 0L, 4, 2, 128, NULL, NULL, NULL));
    }

    @Test
    void decodeAndBackwardChecksAndWorkspaces() {
        MethodHandle dec = api.bindStatus("jl_flash_decode", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        MemorySegment p = MemorySegment.ofAddress(1 << 20);
        assertArgumentError("jl_flash_decode", "head_dim", () -> (int) dec.invokeExact(p, p, p, 10L, 4, 1, 80, p, p, p, NULL));
        assertArgumentError("jl_flash_decode", "null pointer", () -> (int) dec.invokeExact(p, p, p, 10L, 4, 1, 64, p, p, NULL, NULL));
        api.run("jl_flash_decode", () -> (int) dec.invokeExact(NULL, NULL, NULL, 0L, 4, 1, 64, NULL, NULL, NULL, NULL));

        MethodHandle dws = api.bind("jl_flash_decode_workspace_bytes", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT));
        for (long len : new long[] {0, 1, 64, 65, 5000, 1L << 20}) {
            long splits = Math.min(Math.max(1, Math.ceilDiv(len, 64)), 528);
            long want = 4 * splits * 8 * (128 + 2);
            assertEquals(want, (long) CudaApi.call(() -> (long) dws.invokeExact(len, 8, 128)), "len " + len);
        }
        assertEquals(-1L, (long) CudaApi.call(() -> (long) dws.invokeExact(10L, 8, 100)));
        MethodHandle bws = api.bind("jl_flash_attention_backward_workspace_bytes", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT));
        assertEquals(8L * 1000 * 28, (long) CudaApi.call(() -> (long) bws.invokeExact(1000L, 28)));
    }
}
