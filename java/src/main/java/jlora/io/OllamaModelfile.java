package jlora.io;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An Ollama Modelfile beside an exported GGUF: FROM the file, a Go-template TEMPLATE for the
 * chat formats we recognise in the Jinja template (ChatML for Qwen, Llama 3's header format),
 * and PARAMETER stop for the end-of-turn tokens. For other templates TEMPLATE is left out and
 * Ollama falls back to the tokenizer.chat_template stored in the GGUF.
 */
public final class OllamaModelfile {
    private OllamaModelfile() {}

    static final String CHATML = """
            {{- if .System }}<|im_start|>system
            {{ .System }}<|im_end|>
            {{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}
            {{ .Content }}<|im_end|>
            {{ end }}<|im_start|>assistant
            """;

    static final String LLAMA3 = """
            {{- if .System }}<|start_header_id|>system<|end_header_id|>

            {{ .System }}<|eot_id|>{{ end }}{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

            {{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

            """;

    /** The Modelfile text for {@code gguf} (named relative to the Modelfile's directory). */
    public static String text(Path gguf, String chatTemplate, List<String> tokens) {
        StringBuilder b = new StringBuilder("FROM ./").append(gguf.getFileName()).append('\n');
        List<String> stops = new ArrayList<>();
        String t = chatTemplate == null ? "" : chatTemplate;
        if (t.contains("<|im_start|>")) {
            b.append("TEMPLATE \"\"\"").append(CHATML).append("\"\"\"\n");
            stops.add("<|im_end|>");
            if (tokens.contains("<|endoftext|>")) stops.add("<|endoftext|>");
        } else if (t.contains("<|start_header_id|>")) {
            b.append("TEMPLATE \"\"\"").append(LLAMA3).append("\"\"\"\n");
            stops.add("<|eot_id|>");
            if (tokens.contains("<|end_of_text|>")) stops.add("<|end_of_text|>");
        }
        for (String s : stops) b.append("PARAMETER stop \"").append(s).append("\"\n");
        return b.toString();
    }
}
