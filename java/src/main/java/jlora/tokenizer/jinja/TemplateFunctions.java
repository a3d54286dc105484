package jlora.tokenizer.jinja;

import java.time.LocalDateTime;

/** Globals Hugging Face puts in a chat template's environment, plus the slice helper. */
public final class TemplateFunctions {
    private TemplateFunctions() {}

    /** Target of {@link TemplateRewriter}'s {@code py_slice(start, stop, step)}. */
    public static PySlice pySlice(Object start, Object stop, Object step) {
        return PySlice.of(start, stop, step);
    }

    /** Target of {@link TemplateRewriter}'s {@code {{ py_str(...) }}}: Jinja2's printing of a value. */
    public static String pyStr(Object value) {
        return PythonRepr.str(value);
    }

    /** transformers' raise_exception: the template rejects the conversation with this message. */
    public static Object raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** transformers' strftime_now(format): the local time formatted as Python's strftime. */
    public static String strftimeNow(Object format) {
        return PythonTime.strftime(String.valueOf(format), LocalDateTime.now());
    }
}
