package jlora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * JSON Lines in TRL's conversational and tool-calling formats. Oracle: the conversations written
 * out by hand below from the same rows (what TRL / OpenAI define those fields to mean).
 */
class JsonLinesReaderTest {
    @TempDir Path dir;

    private static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
            + "\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";

    @Test
    void multiTurnWithSourceBomCrlfAndBlankLines() throws Exception {
        String rows = "\uFEFF{\"messages\":[{\"role\":\"system\",\"content\":\"짧게 답하세요.\"},{\"role\":\"user\",\"content\":\"안녕?\"},"
                + "{\"role\":\"assistant\",\"content\":\"안녕하세요!\"},{\"role\":\"user\",\"content\":\"이름이 뭐야?\"},"
                + "{\"role\":\"assistant\",\"content\":\"저는 도우미예요.\"}],\"source\":\"kowiki\"}\r\n"
                + "\r\n   \r\n"
                + "{\"messages\":[{\"role\":\"user\",\"content\":\"1+1?\"},{\"role\":\"assistant\",\"content\":\"2\"}]}\r\n";
        Collected c = Collected.read(Collected.write(dir, "chat_data.jsonl", rows));
        assertEquals(2, c.examples().size(), c.report().summary());
        assertEquals(0, c.report().invalid());

        Example first = c.examples().get(0);
        assertEquals(new Conversation(List.of(Message.system("짧게 답하세요."), Message.user("안녕?"), Message.assistant("안녕하세요!"),
                Message.user("이름이 뭐야?"), Message.assistant("저는 도우미예요.")), List.of(), "kowiki"), first.conversation());
        assertEquals(1, first.line());
        Example second = c.examples().get(1);
        assertEquals("chat_data", second.source(), "without a source field the file name (no extension) is the source");
        assertEquals(4, second.line(), "blank lines still count for line numbers");
    }

    @Test
    void toolCallsWithArgumentsAsObjectOrJsonString() throws Exception {
        String asObject = "{\"tools\":" + TOOLS + ",\"messages\":[{\"role\":\"user\",\"content\":\"서울 날씨?\"},"
                + "{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"서울\"}}}]},"
                + "{\"role\":\"tool\",\"name\":\"get_weather\",\"content\":\"맑음\"},{\"role\":\"assistant\",\"content\":\"맑아요.\"}]}";
        String asString = asObject.replace("\"arguments\":{\"city\":\"서울\"}", "\"arguments\":\"{\\\"city\\\": \\\"서울\\\"}\"");
        String flatWithId = asObject.replace("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"서울\"}}}",
                "{\"id\":\"call_1\",\"name\":\"get_weather\",\"arguments\":{\"city\":\"서울\"}}");
        Collected c = Collected.read(Collected.write(dir, "tools.jsonl", asObject + "\n" + asString + "\n" + flatWithId + "\n"));
        assertEquals(3, c.examples().size(), c.report().summary());

        Conversation expected = new Conversation(List.of(
                Message.user("서울 날씨?"),
                Message.assistant(null, List.of(new ToolCall(null, "get_weather", Map.of("city", "서울")))),
                Message.tool("맑음", null, "get_weather"),
                Message.assistant("맑아요.")),
                List.of(Map.of("type", "function", "function", Map.of("name", "get_weather", "parameters",
                        Map.of("type", "object", "properties", Map.of("city", Map.of("type", "string")))))), "tools");
        assertEquals(expected, c.examples().get(0).conversation());
        assertEquals(expected, c.examples().get(1).conversation(), "arguments given as a JSON string read as the same object");
        assertEquals("call_1", c.examples().get(2).conversation().messages().get(1).toolCalls().getFirst().id());
    }

    @Test
    void promptCompletionStringsAndMessageLists() throws Exception {
        String rows = "{\"prompt\":\"하늘은 \",\"completion\":\"파랗다.\"}\n"
                + "{\"prompt\":[{\"role\":\"user\",\"content\":\"하늘은 무슨 색?\"}],\"completion\":[{\"role\":\"assistant\",\"content\":\"파란색이에요.\"}]}\n";
        Collected c = Collected.read(Collected.write(dir, "pc.jsonl", rows));
        assertEquals(2, c.examples().size(), c.report().summary());
        Example plain = c.examples().get(0);
        assertEquals("하늘은 파랗다.", plain.text());
        assertEquals("하늘은 ".length(), plain.promptLength(), "TRL trains on the completion only");
        assertEquals(List.of(Message.user("하늘은 무슨 색?"), Message.assistant("파란색이에요.")), c.examples().get(1).conversation().messages());
    }

    @Test
    void alpacaAndInputOutputAndTextAndShareGpt() throws Exception {
        Collected alpaca = Collected.read(Collected.write(dir, "a.jsonl",
                "{\"instruction\":\"번역하세요.\",\"input\":\"고양이\",\"output\":\"cat\"}\n{\"instruction\":\"인사하세요.\",\"input\":\"\",\"output\":\"안녕하세요.\"}\n"));
        assertEquals(List.of(Message.user("번역하세요.\n\n고양이"), Message.assistant("cat")), alpaca.examples().get(0).conversation().messages());
        assertEquals(List.of(Message.user("인사하세요."), Message.assistant("안녕하세요.")), alpaca.examples().get(1).conversation().messages());

        Example io = Collected.read(Collected.write(dir, "io.jsonl", "{\"input\":\"질문 텍스트\",\"output\":\"답변 텍스트\",\"source\":\"seed\"}\n")).only();
        assertEquals(new Conversation(List.of(Message.user("질문 텍스트"), Message.assistant("답변 텍스트")), List.of(), "seed"), io.conversation());

        Example text = Collected.read(Collected.write(dir, "t.jsonl", "{\"text\":\"### Instruction: 질문 ### Response: 답\"}\n")).only();
        assertEquals("### Instruction: 질문 ### Response: 답", text.text());
        assertEquals(0, text.promptLength());

        Example share = Collected.read(Collected.write(dir, "s.jsonl",
                "{\"conversations\":[{\"from\":\"human\",\"value\":\"안녕\"},{\"from\":\"gpt\",\"value\":\"네, 안녕하세요\"}]}\n")).only();
        assertEquals(List.of(Message.user("안녕"), Message.assistant("네, 안녕하세요")), share.conversation().messages());
    }

    @Test
    void reasoningContentIsKept() throws Exception {
        Example e = Collected.read(Collected.write(dir, "r.jsonl",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"3 팩토리얼?\"},{\"role\":\"assistant\",\"content\":\"6\",\"reasoning_content\":\"3*2*1\"}]}\n")).only();
        assertEquals(Message.assistant("6").withReasoning("3*2*1"), e.conversation().messages().get(1));
    }

    @Test
    void utf8WithoutBomIsNotMangled() throws Exception {
        byte[] bytes = "{\"text\":\"한국어 😀\"}\n".getBytes(StandardCharsets.UTF_8);
        assertEquals("한국어 😀", Collected.read(Collected.writeBytes(dir, "u.jsonl", bytes)).only().text());
    }
}
