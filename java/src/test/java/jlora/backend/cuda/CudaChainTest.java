package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import jlora.tensor.HalfFloats;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Java → Panama → libjlora_cuda.so → GPU and back. The oracle for the casts is
 * {@link HalfFloats} on the CPU, compared bit for bit (no tolerance: the kernels are
 * specified as exact). Device outputs are poisoned with two different byte patterns in two
 * runs, so an element the kernel never wrote cannot match both. Skips, with the status text
 * as the reason, where the build has no CUDA or the machine no GPU.
 */
@Tag("gpu")
class CudaChainTest {
    private static CudaApi api;

    // Per test, not @BeforeAll, so that each test shows as skipped with the reason.
    @BeforeEach
    void requireGpu() {
        CudaDevices.Report report = CudaDevices.query();
        assumeTrue(report.status() == CudaDevices.Status.READY, () -> "no GPU for this test: " + report.describe());
        api = CudaApi.require();
    }

    @Test
    void deviceQueryIsPlausible() {
        CudaDevices.Report report = CudaDevices.query();
        assertTrue(report.runtimeVersion() >= 12000 && report.driverVersion() >= report.runtimeVersion() / 1000 * 1000,
                report.describe());
        for (CudaDevices.Device d : report.devices()) {
            assertFalse(d.name().isBlank(), report.describe());
            assertTrue(d.major() >= 8, "built for sm_80 and up: " + report.describe());
            assertTrue(d.multiprocessors() > 0 && d.l2Bytes() > 0, report.describe());
            assertTrue(d.freeBytes() > 0 && d.freeBytes() <= d.totalBytes(), report.describe());
        }
    }

    @Test
    void castF32ToBf16MatchesHalfFloatsBitForBit() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        // Vectorised path (aligned, with a tail of n % 8) and the scalar path (4-byte offset).
        int n = (1 << 20) + random.nextInt(8);
        checkF32ToBf16(random, seed, n, 0);
        checkF32ToBf16(random, seed, 1000 + random.nextInt(100), 1);
    }

    @Test
    void castBf16ToF32MatchesHalfFloatsBitForBit() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        checkBf16ToF32(random, seed, (1 << 20) + random.nextInt(8), 0);
        checkBf16ToF32(random, seed, 1000 + random.nextInt(100), 3);
    }

    @Test
    void outOfBoundsLaunchIsRefusedBeforeTheGpu() {
        try (DeviceBuffer src = new DeviceBuffer(api, 64); DeviceBuffer dst = new DeviceBuffer(api, 16)) {
            assertThrows(IndexOutOfBoundsException.class, () -> new CastKernels(api).f32ToBf16(src, 0, dst, 0, 16));
        }
    }

    @Test
    void cudaErrorCarriesTheNativeText() {
        CudaException e = assertThrows(CudaException.class, () -> api.malloc(1L << 60));
        assertTrue(e.getMessage().contains("cudaMalloc") && e.getMessage().contains("cudaErrorMemoryAllocation"),
                e.getMessage());
    }

    private static void checkF32ToBf16(SplittableRandom random, long seed, int n, int offset) {
        try (Arena arena = Arena.ofConfined();
                DeviceBuffer src = new DeviceBuffer(api, 4L * (n + offset));
                DeviceBuffer dst = new DeviceBuffer(api, 2L * (n + offset))) {
            MemorySegment in = arena.allocate(4L * (n + offset), 16);
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                values[i] = CastInputs.interestingFloat(random);
                in.setAtIndex(ValueLayout.JAVA_FLOAT, offset + i, values[i]);
            }
            src.copyFrom(in);
            MemorySegment out = arena.allocate(2L * (n + offset), 16);
            for (int poison : new int[] {0xA5, 0x5A}) {
                dst.fill(poison);
                new CastKernels(api).f32ToBf16(src, offset, dst, offset, n);
                dst.copyTo(out);
                for (int i = 0; i < n; i++) {
                    short want = HalfFloats.f32ToBf16(values[i]);
                    short got = out.getAtIndex(ValueLayout.JAVA_SHORT, offset + i);
                    if (want != got) {
                        throw new AssertionError(String.format(
                                "f32->bf16 seed=%d n=%d offset=%d poison=0x%02X: first mismatch at %d: input 0x%08X (%s),"
                                        + " want 0x%04X got 0x%04X",
                                seed, n, offset, poison, i, Float.floatToRawIntBits(values[i]), values[i], want, got));
                    }
                }
            }
        }
    }

    private static void checkBf16ToF32(SplittableRandom random, long seed, int n, int offset) {
        try (Arena arena = Arena.ofConfined();
                DeviceBuffer src = new DeviceBuffer(api, 2L * (n + offset));
                DeviceBuffer dst = new DeviceBuffer(api, 4L * (n + offset))) {
            MemorySegment in = arena.allocate(2L * (n + offset), 16);
            short[] values = new short[n];
            for (int i = 0; i < n; i++) {
                values[i] = (short) random.nextInt(1 << 16); // every bf16 pattern, NaN and Inf included
                in.setAtIndex(ValueLayout.JAVA_SHORT, offset + i, values[i]);
            }
            src.copyFrom(in);
            MemorySegment out = arena.allocate(4L * (n + offset), 16);
            for (int poison : new int[] {0xA5, 0x5A}) {
                dst.fill(poison);
                new CastKernels(api).bf16ToF32(src, offset, dst, offset, n);
                dst.copyTo(out);
                for (int i = 0; i < n; i++) {
                    int want = Float.floatToRawIntBits(HalfFloats.bf16ToF32(values[i]));
                    int got = out.getAtIndex(ValueLayout.JAVA_INT, offset + i);
                    if (want != got) {
                        throw new AssertionError(String.format(
                                "bf16->f32 seed=%d n=%d offset=%d poison=0x%02X: first mismatch at %d: input 0x%04X,"
                                        + " want 0x%08X got 0x%08X",
                                seed, n, offset, poison, i, values[i], want, got));
                    }
                }
            }
        }
    }
}
