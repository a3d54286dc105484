package jlora.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jlora.UserError;
import org.junit.jupiter.api.Test;

/**
 * The out-of-memory report without a GPU: the message a user sees names the device, the
 * request, the device's free and total memory, what jlora held, and the four settings that
 * lower the footprint (the config keys as jlora spells them). And the allocator's size classes:
 * never smaller than the request, at most 12.5 % (or a power of two below 1 MiB) above it.
 */
class DeviceOutOfMemoryTest {
    @Test
    void messageNamesSizesAndWhatToChange() {
        String m = DeviceOutOfMemory.message("cuda:0", "F32 [4096, 152064]", 2_491_416_576L, 805_306_368L,
                85_520_809_984L, 79_000_000_000L);
        DeviceOutOfMemory e = new DeviceOutOfMemory(m, 2_491_416_576L);
        assertInstanceOf(UserError.class, e);
        for (String part : new String[] {"cuda:0 out of memory", "2.32 GiB", "F32 [4096, 152064]", "768.0 MiB free",
                "79.65 GiB", "jlora holds 73.57 GiB", "training.micro_batch_size", "model.max_seq_length",
                "training.gradient_checkpointing: true", "quantization.mode: nf4"}) {
            assertTrue(m.contains(part), () -> "missing '" + part + "' in: " + m);
        }
        assertEquals(2_491_416_576L, e.requested());
    }

    @Test
    void sizeClassesCoverTheRequestWithBoundedSlack() {
        java.util.SplittableRandom r = new java.util.SplittableRandom();
        long seed = r.nextLong();
        r = new java.util.SplittableRandom(seed);
        for (int i = 0; i < 10_000; i++) {
            long bytes = 1 + (r.nextLong() >>> (14 + r.nextInt(50))); // up to 2^50 bytes
            long c = DeviceMemory.sizeClass(bytes);
            double bound = bytes <= 1 << 20 ? Math.max(512, 2.0 * bytes) : bytes * 1.125 + 1;
            final long b = bytes;
            assertTrue(c >= bytes && c <= bound, () -> "seed=" + seed + " bytes=" + b + " class=" + c);
            assertEquals(c, DeviceMemory.sizeClass(c), () -> "seed=" + seed + " class of a class must be itself: " + c);
        }
    }
}
