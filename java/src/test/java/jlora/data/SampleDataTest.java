package jlora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundled Korean sample set: every row validates cleanly, the sizes the brief asks for,
 * and every KorQuAD answer really is the span of its context at answer_start (counted in
 * code points, as SQuAD / KorQuAD count Python string indices).
 */
class SampleDataTest {

    @Test
    void everyBundledRowValidatesCleanly() throws Exception {
        long bytes = 0;
        for (String name : SampleData.ALL) {
            Collected c = Collected.read(SampleData.path(name));
            assertTrue(c.report().clean(), name + "\n" + c.report().summary());
            bytes += Files.size(SampleData.path(name));
            for (Example e : c.examples()) {
                for (Message m : e.conversation().messages()) {
                    if (m.role().equals("assistant") && m.content() != null) {
                        assertTrue(m.content().length() <= 200, "answers stay short for the tiny default: " + e.location() + " " + m.content());
                    }
                }
            }
        }
        assertTrue(bytes < 300 * 1024, "sample set is " + bytes + " bytes");
    }

    @Test
    void sizesAndShapes() {
        List<Example> chat = Collected.read(SampleData.path(SampleData.CHAT)).examples();
        assertTrue(chat.size() >= 150, "chat conversations: " + chat.size());
        Set<String> sources = new HashSet<>();
        for (Example e : chat) {
            long turns = e.conversation().messages().stream().filter(m -> m.role().equals("user")).count();
            assertTrue(turns >= 1 && turns <= 4, e.location() + " has " + turns + " turns");
            sources.add(e.source());
        }
        assertTrue(sources.size() >= 5, "varied topics, by source: " + sources);

        List<Example> tools = Collected.read(SampleData.path(SampleData.TOOLS)).examples();
        assertEquals(80, tools.size());
        Set<String> called = new HashSet<>();
        for (Example e : tools) {
            assertEquals(4, e.conversation().tools().size(), e.location());
            e.conversation().messages().forEach(m -> m.toolCalls().forEach(tc -> called.add(tc.name())));
            long calls = e.conversation().messages().stream().mapToLong(m -> m.toolCalls().size()).sum();
            long results = e.conversation().messages().stream().filter(m -> m.role().equals("tool")).count();
            assertEquals(calls, results, "one tool result per call: " + e.location());
            assertEquals("assistant", e.conversation().messages().getLast().role(), "ends with the final answer: " + e.location());
        }
        assertEquals(Set.of("get_weather", "add_calendar_event", "convert_units", "search_web"), called);

        assertTrue(Collected.read(SampleData.path(SampleData.QA)).examples().size() >= 60);
    }

    @Test
    void korQuadAnswerSpansMatchTheContext() throws Exception {
        JsonNode root = new ObjectMapper().readTree(Files.readString(SampleData.path(SampleData.QA)));
        int paragraphs = 0, questions = 0;
        List<String> bad = new ArrayList<>();
        for (JsonNode article : root.get("data")) {
            for (JsonNode p : article.get("paragraphs")) {
                paragraphs++;
                String context = p.get("context").asText();
                int[] cps = context.codePoints().toArray();
                for (JsonNode qa : p.get("qas")) {
                    questions++;
                    JsonNode a = qa.get("answers").get(0);
                    String text = a.get("text").asText();
                    int start = a.get("answer_start").asInt();
                    int len = (int) text.codePoints().count();
                    String span = start >= 0 && start + len <= cps.length ? new String(cps, start, len) : "<out of range>";
                    if (!span.equals(text)) bad.add(qa.get("id").asText() + ": answer \"" + text + "\" but context[" + start + "] = \"" + span + "\"");
                }
            }
        }
        assertTrue(bad.isEmpty(), bad.toString());
        assertTrue(paragraphs >= 15, "paragraphs: " + paragraphs);
        assertTrue(questions >= 60, "questions: " + questions);
    }

    @Test
    void everyBundledConversationRendersWithTheChatMlDefault() {
        // The path the tiny default takes when a model ships no template: each turn appears once, in order.
        var chatml = jlora.tokenizer.ChatTemplate.chatml();
        for (String name : SampleData.ALL) {
            for (Example e : Collected.read(SampleData.path(name)).examples()) {
                String text = chatml.render(e.conversation(), false, java.util.Map.of());
                int from = 0;
                for (Message m : e.conversation().messages()) {
                    String turn = "<|im_start|>" + m.role() + "\n" + (m.content() == null ? "" : m.content()) + "<|im_end|>\n";
                    int at = text.indexOf(turn, from);
                    assertTrue(at >= from, e.location() + ": turn not rendered in order: " + turn);
                    from = at + turn.length();
                }
                assertEquals(text.length(), from, e.location() + ": extra text after the last turn");
            }
        }
    }

    @Test
    void samplePathIsReadable() {
        Path p = SampleData.path(SampleData.CHAT);
        assertTrue(Files.isReadable(p), p.toString());
    }
}
