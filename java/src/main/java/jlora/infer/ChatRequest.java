package jlora.infer;

import java.util.List;
import java.util.Map;
import jlora.data.Message;

/** One chat turn to generate: the history, the tools the template may show, how to sample. */
public record ChatRequest(List<Message> messages, List<Map<String, Object>> tools, SamplingParams sampling,
                          Map<String, Object> templateExtras) {
    public ChatRequest {
        messages = List.copyOf(messages);
        tools = tools == null ? List.of() : List.copyOf(tools);
        templateExtras = templateExtras == null ? Map.of() : Map.copyOf(templateExtras);
    }
}
