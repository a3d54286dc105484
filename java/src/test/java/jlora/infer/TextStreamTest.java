package jlora.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import jlora.data.ToolCall;
import org.junit.jupiter.api.Test;

/**
 * Stop strings and tool-call parsing on streamed text, checked against the one-shot answer
 * that String.indexOf gives on the whole text: every way of cutting the text into two or
 * three chunks must stream out exactly that answer, and never release a partial tag.
 */
class TextStreamTest {

    @Test
    void stopStringAcrossEveryChunkBoundary() {
        String text = "안녕하세요 user: hi</s> more";
        List<String> stops = List.of("</s>", "user:");
        String want = text.substring(0, text.indexOf("user:")); // the earliest stop wins, itself not returned
        for (int i = 0; i <= text.length(); i++) {
            for (int j = i; j <= text.length(); j++) {
                StopStrings m = new StopCriteria(Set.of(), stops, 10).newMatcher();
                String got = m.push(text.substring(0, i)) + m.push(text.substring(i, j)) + m.push(text.substring(j));
                assertTrue(m.stopped(), "split " + i + "," + j);
                got += m.flush();
                assertEquals(want, got, "split at " + i + "," + j);
            }
        }
    }

    @Test
    void heldPrefixIsReleasedWhenItDoesNotComplete() {
        StopStrings m = new StopCriteria(Set.of(), List.of("STOP"), 10).newMatcher();
        assertEquals("ab", m.push("abST"));
        assertEquals("STx", m.push("x"));
        assertEquals("", m.push("ST"));
        assertEquals("ST", m.flush());
    }

    @Test
    void toolCallsSplitAtEveryPosition() {
        String text = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"서울\", \"days\": 3}}\n"
                + "</tool_call>\n<tool_call>\n{\"name\": \"broken\", \"arguments\": {\"x\": }\n</tool_call> a < b <tool";
        String broken = "<tool_call>\n{\"name\": \"broken\", \"arguments\": {\"x\": }\n</tool_call>";
        String wantContent = "Let me check.\n\n" + broken + " a < b <tool";
        ToolCall want = new ToolCall("call_0", "get_weather", Map.of("city", "서울", "days", 3));
        for (int i = 0; i <= text.length(); i++) {
            for (int j = i; j <= text.length(); j += 7) {
                ToolCallParser p = new ToolCallParser();
                String[] chunks = {text.substring(0, i), text.substring(i, j), text.substring(j)};
                StringBuilder visible = new StringBuilder();
                for (String c : chunks) {
                    String out = p.push(c);
                    visible.append(out);
                    // released text is always a prefix of the final content: a partial "<tool_call>"
                    // of the valid block (where the content has "\n" instead) would break this
                    assertTrue(wantContent.startsWith(visible.toString()),
                            "split " + i + "," + j + ": released " + visible);
                }
                visible.append(p.finish());
                assertEquals(wantContent, visible.toString(), "split " + i + "," + j);
                assertEquals(List.of(want), p.calls(), "split " + i + "," + j);
                assertEquals(List.of(broken), p.malformed(), "split " + i + "," + j);
            }
        }
    }

    @Test
    void unclosedBlockAtEndParsesWhenValid() {
        var r = ToolCallParser.parse("<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}");
        assertEquals("", r.content());
        assertEquals(List.of(new ToolCall("call_0", "f", Map.of("a", 1))), r.calls());
        var bad = ToolCallParser.parse("x<tool_call>{\"name\": ");
        assertEquals("x<tool_call>{\"name\": ", bad.content());
        assertEquals(List.of("<tool_call>{\"name\": "), bad.malformed());
    }
}
