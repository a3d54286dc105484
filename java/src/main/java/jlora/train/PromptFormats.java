package jlora.train;

/**
 * The non-chat prompt formats of {@code data.prompt_format}, written as Jinja chat templates so
 * the one tokenization path (render, assistant spans by prefix, labels) serves them too. Each
 * user turn ends with the response header, so the generation prompt adds nothing and every
 * prefix renders stably; the assistant turn is its text and EOS (what the model learns to
 * produce and stop with). All literal text sits inside expressions: chat templates render with
 * trim_blocks / lstrip_blocks, which would eat whitespace next to block tags.
 */
final class PromptFormats {
    private PromptFormats() {}

    /**
     * The KorQuAD seed's Alpaca prompt, as its comment gives it: "Below is an instruction ...
     * ### Instruction: {question} ### Response: {answer}". A system turn, if any, is dropped
     * (the format has no slot for one).
     */
    static final String ALPACA = "{% for m in messages %}{% if m['role'] == 'user' %}"
            + "{{ 'Below is an instruction that describes a task. Write a response that appropriately completes the request."
            + " ### Instruction: ' + m['content'] + ' ### Response: ' }}"
            + "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}";

    /**
     * The R1-distill seed's prompt: "### Instruction:\n{system}\n\n### Question:\n{question}\n\n
     * ### Response:\n&lt;think&gt;\n{reasoning}\n&lt;/think&gt;\n{answer}" + EOS; the reasoning
     * is the message's reasoning_content (empty when the row has none).
     */
    static final String THINK = "{% for m in messages %}{% if m['role'] == 'system' %}"
            + "{{ '### Instruction:\\n' + m['content'] + '\\n\\n' }}"
            + "{% elif m['role'] == 'user' %}{{ '### Question:\\n' + m['content'] + '\\n\\n### Response:\\n' }}"
            + "{% elif m['role'] == 'assistant' %}{{ '<think>\\n' }}"
            + "{% if m['reasoning_content'] is defined %}{{ m['reasoning_content'] }}{% endif %}"
            + "{{ '\\n</think>\\n' + m['content'] + eos_token }}{% endif %}{% endfor %}";

    /** The template for {@code format}, or null for the model's own chat template. */
    static String template(DataSection.PromptFormat format) {
        return switch (format) {
            case CHAT_TEMPLATE -> null;
            case ALPACA -> ALPACA;
            case THINK -> THINK;
        };
    }
}
