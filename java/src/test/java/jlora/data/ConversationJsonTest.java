package jlora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jlora.UserError;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The records serialise to the OpenAI / TRL messages format (the oracle is that format's
 * field layout: tool_calls[].function.{name, arguments}, reasoning_content, tool_call_id)
 * and read back to equal records; the alternative shapes real datasets use are accepted.
 */
class ConversationJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Map<String, Object> args() {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("city", "서울");
        a.put("days", 3);
        a.put("units", List.of("c", "f"));
        return a;
    }

    private static Conversation sample() {
        return new Conversation(List.of(
                Message.system("도우미"),
                Message.user("날씨?"),
                Message.assistant("", List.of(new ToolCall("call_1", "get_weather", args()))).withReasoning("생각"),
                Message.tool("{\"t\": 3}", "call_1", "get_weather"),
                Message.assistant("3도")),
                List.of(Map.of("type", "function", "function", Map.of("name", "get_weather"))), "data.jsonl:7");
    }

    @Test
    void writesTheOpenAiShapeAndReadsItBack() throws Exception {
        Conversation c = sample();
        String text = JSON.writeValueAsString(c);
        JsonNode tree = JSON.readTree(text);
        JsonNode call = tree.at("/messages/2/tool_calls/0");
        assertEquals("function", call.path("type").asText(), text);
        assertEquals("call_1", call.path("id").asText(), text);
        assertEquals("get_weather", call.at("/function/name").asText(), text);
        assertEquals("서울", call.at("/function/arguments/city").asText(), text);
        assertEquals("생각", tree.at("/messages/2/reasoning_content").asText(), text);
        assertEquals("call_1", tree.at("/messages/3/tool_call_id").asText(), text);
        assertTrue(tree.at("/messages/1/tool_calls").isMissingNode(), "empty fields are left out: " + text);
        assertEquals("data.jsonl:7", tree.path("source").asText(), text);
        assertEquals(c, JSON.readValue(text, Conversation.class), text);
    }

    @Test
    void acceptsArgumentsAsAJsonStringAndTheFlatShape() throws Exception {
        ToolCall wire = JSON.readValue("{\"id\":\"x\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                + "\"arguments\":\"{\\\"city\\\": \\\"서울\\\", \\\"days\\\": 3, \\\"units\\\": [\\\"c\\\", \\\"f\\\"]}\"}}", ToolCall.class);
        assertEquals(new ToolCall("x", "f", args()), wire);
        ToolCall flat = JSON.readValue("{\"name\":\"f\",\"arguments\":{\"city\":\"서울\",\"days\":3,\"units\":[\"c\",\"f\"]}}", ToolCall.class);
        assertEquals(new ToolCall(null, "f", args()), flat);
    }

    @Test
    void contentPartsReadAsTheirText() throws Exception {
        Message m = JSON.readValue("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"안녕 \"},"
                + "{\"type\":\"text\",\"text\":\"world\"}]}", Message.class);
        assertEquals(Message.user("안녕 world"), m);
        Exception e = assertThrows(Exception.class, () -> JSON.readValue(
                "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}", Message.class));
        Throwable cause = e;
        while (cause != null && !(cause instanceof UserError)) cause = cause.getCause();
        assertTrue(cause != null && cause.getMessage().contains("not text"), "expected a UserError, got " + e);
    }

    @Test
    void badArgumentsAreAUserError() {
        Exception e = assertThrows(Exception.class, () -> JSON.readValue(
                "{\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}", ToolCall.class));
        Throwable cause = e;
        while (cause != null && !(cause instanceof UserError)) cause = cause.getCause();
        assertTrue(cause != null && cause.getMessage().contains("\"f\""), "expected a UserError naming the call, got " + e);
    }
}
