package jlora.data;

/**
 * One row a reader could not turn into an example: which kind of problem, where
 * ({@code line} is 1-based, 0 when the format has no lines; {@code column} 0 when unknown)
 * and a reason a person can act on.
 */
public record Problem(Kind kind, String file, long line, int column, String reason) {

    public enum Kind {
        MALFORMED_JSON("malformed JSON"),
        MALFORMED_ROW("malformed table row"),
        MISSING_FIELD("missing field"),
        EMPTY_CONTENT("empty content"),
        UNKNOWN_ROLE("unknown role"),
        NO_ASSISTANT_TURN("no assistant turn"),
        INVALID_TOOL_CALL("invalid tool call"),
        UNKNOWN_TOOL("call to a tool not in the row's tools"),
        /** Reported by the tokenizing stage through {@link ExampleCheck}, not by readers. */
        TOO_LONG("longer than max_seq_length"),
        /** The chat template raised an error for the example (raise_exception, a missing field it needs). */
        TEMPLATE_ERROR("chat template failed");

        private final String label;

        Kind(String label) { this.label = label; }

        public String label() { return label; }
    }

    /** {@code file:line[:column]: reason}, the form compilers use, so editors can jump to it. */
    public String location() {
        StringBuilder sb = new StringBuilder(file);
        if (line > 0) sb.append(':').append(line);
        if (line > 0 && column > 0) sb.append(':').append(column);
        return sb.toString();
    }

    @Override
    public String toString() {
        return location() + ": " + reason;
    }
}
