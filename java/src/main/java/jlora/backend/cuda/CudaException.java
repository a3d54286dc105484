package jlora.backend.cuda;

/**
 * A libjlora_cuda call returned a non-zero status. {@code status} is the cudaError_t value
 * (positive) or a JL_ERR_* code (negative); the message carries the native library's own
 * text, which names the CUDA call that failed.
 */
public final class CudaException extends RuntimeException {
    private final String function;
    private final int status;

    public CudaException(String function, int status, String statusName, String nativeMessage) {
        super(function + " failed with status " + status + " (" + statusName + ")"
                + (nativeMessage.isEmpty() ? "" : ": " + nativeMessage));
        this.function = function;
        this.status = status;
    }

    public String function() {
        return function;
    }

    public int status() {
        return status;
    }
}
