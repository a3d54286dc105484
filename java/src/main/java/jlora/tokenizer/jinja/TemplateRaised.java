package jlora.tokenizer.jinja;

/** Thrown by the template's own {@code raise_exception(msg)}: the template rejected its input. */
public final class TemplateRaised extends RuntimeException {
    public TemplateRaised(String message) {
        super(message);
    }
}
