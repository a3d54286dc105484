package jlora.data;

/**
 * A check run on every example that passed the reader's own validation: the hook the
 * tokenizing stage uses to reject examples longer than max_seq_length, which a reader cannot
 * know without the tokenizer and chat template.
 */
@FunctionalInterface
public interface ExampleCheck {
    ExampleCheck NONE = e -> null;

    /** The reason the example is rejected, or null when it is fine. */
    String check(Example example);

    /** The kind its rejections are counted under. */
    default Problem.Kind kind() { return Problem.Kind.TOO_LONG; }

    /** The kind this rejection of {@code example} is counted under; checks that reject for several reasons override it. */
    default Problem.Kind kind(Example example, String reason) { return kind(); }
}
