package jlora.backend.cuda;

import java.util.Locale;
import jlora.UserError;

/**
 * A device allocation that failed even after the allocator gave its cached blocks back: a
 * {@link UserError} that names the request, the device's free and total memory, what jlora
 * held, and the settings that lower the footprint.
 */
public final class DeviceOutOfMemory extends UserError {
    private final long requested;

    DeviceOutOfMemory(String message, long requested) {
        super(message);
        this.requested = requested;
    }

    public long requested() {
        return requested;
    }

    /**
     * The message: {@code what} is the tensor being allocated (dtype and shape), {@code free} and
     * {@code total} what cudaMemGetInfo reported after the failure, {@code held} the bytes jlora's
     * tensors held at the time (parameters, optimizer state, activations).
     */
    static String message(String device, String what, long requested, long free, long total, long held) {
        return String.format(Locale.ROOT,
                "%s out of memory: allocating %s for %s failed; the device has %s free of %s and jlora holds %s."
                        + " To fit: lower training.micro_batch_size or model.max_seq_length, set"
                        + " training.gradient_checkpointing: true, or train QLoRA (quantization.mode: nf4, which keeps the"
                        + " frozen base in 4 bits)",
                device, size(requested), what, size(free), size(total), size(held));
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        return bytes + " bytes";
    }
}
