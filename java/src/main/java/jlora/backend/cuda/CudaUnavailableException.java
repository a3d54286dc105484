package jlora.backend.cuda;

/** CUDA was asked for where there is none; the message is the status text from {@link CudaDevices}. */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
