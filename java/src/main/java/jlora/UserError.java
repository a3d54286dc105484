package jlora;

/**
 * A problem the user can fix: a missing file, a malformed config, a corrupted checkpoint.
 * The message says what is wrong (file, line, field) and what to do; the CLI prints it on one
 * line without a stack trace (unless --verbose) and exits non-zero. Bugs are other exceptions.
 */
public class UserError extends RuntimeException {
    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
