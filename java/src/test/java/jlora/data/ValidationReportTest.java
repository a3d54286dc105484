package jlora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A file with exactly one bad row of each kind (and the line each sits on, written down by
 * hand) must give exactly those counts and file:line entries, while the valid rows come through.
 */
class ValidationReportTest {
    @TempDir Path dir;

    private static final String TOOLS = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{}}}]";
    private static final String CALL = "{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"%s\",\"arguments\":%s}}]}";

    private static String row(String... messages) {
        return "{\"messages\":[" + String.join(",", messages) + "]}";
    }

    private static String msg(String role, String content) {
        return "{\"role\":\"" + role + "\",\"content\":\"" + content + "\"}";
    }

    @Test
    void oneBadRowOfEachKindGivesExactlyThoseCountsAndLines() throws Exception {
        String user = msg("user", "서울 날씨?"), answer = msg("assistant", "맑아요.");
        List<String> lines = List.of(
                row(user, answer),                                                          // 1 valid
                "{\"messages\": [{\"role\": \"user\", \"content\": \"끝이 없음\"}",                // 2 malformed JSON
                "{\"source\": \"x\"}",                                                     // 3 missing field
                row(msg("user", ""), answer),                                               // 4 empty content
                row(msg("bot", "안녕"), answer),                                            // 5 unknown role
                row(user),                                                                  // 6 no assistant turn
                "{" + TOOLS + "," + row(user, CALL.formatted("get_weather", "\"{city: 서울\""), answer).substring(1),  // 7 bad arguments JSON
                "{" + TOOLS + "," + row(user, CALL.formatted("get_time", "{}"), answer).substring(1),                 // 8 tool not offered
                "",                                                                         // 9 blank: skipped, not a row
                row(user, msg("assistant", "아주 긴 답변")),                                  // 10 rejected by the length hook
                "{" + TOOLS + "," + row(user, CALL.formatted("get_weather", "{\"city\":\"서울\"}"), answer).substring(1)); // 11 valid
        Path file = Collected.write(dir, "mixed.jsonl", String.join("\n", lines) + "\n");

        List<Example> kept = new ArrayList<>();
        ValidationReport report = new ValidationReport();
        ExampleCheck tooLong = e -> e.conversation().messages().getLast().content().contains("아주 긴") ? "42 tokens > max_seq_length 32" : null;
        DataFile.read(file, ReaderOptions.DEFAULTS, tooLong, report, kept::add);

        Map<Problem.Kind, Long> expectedLine = new EnumMap<>(Problem.Kind.class);
        expectedLine.put(Problem.Kind.MALFORMED_JSON, 2L);
        expectedLine.put(Problem.Kind.MISSING_FIELD, 3L);
        expectedLine.put(Problem.Kind.EMPTY_CONTENT, 4L);
        expectedLine.put(Problem.Kind.UNKNOWN_ROLE, 5L);
        expectedLine.put(Problem.Kind.NO_ASSISTANT_TURN, 6L);
        expectedLine.put(Problem.Kind.INVALID_TOOL_CALL, 7L);
        expectedLine.put(Problem.Kind.UNKNOWN_TOOL, 8L);
        expectedLine.put(Problem.Kind.TOO_LONG, 10L);
        for (Problem.Kind k : Problem.Kind.values()) {
            long want = expectedLine.containsKey(k) ? 1 : 0;
            assertEquals(want, report.count(k), k + "\n" + report.summary());
            if (want == 1) {
                Problem p = report.firstProblems(k).getFirst();
                assertEquals(file + ":" + expectedLine.get(k), file + ":" + p.line(), p.toString());
                assertTrue(p.toString().startsWith(file + ":" + expectedLine.get(k) + ":"), p.toString());
            }
        }
        assertEquals(List.of(1L, 11L), kept.stream().map(Example::line).toList(), "the valid rows still come through");
        assertEquals(10, report.rows());
        assertEquals(2, report.valid());
        assertEquals(8, report.invalid());
        assertEquals(lines.get(1).length() + 1, report.firstProblems(Problem.Kind.MALFORMED_JSON).getFirst().column(),
                "the column just past the end of line 2, where the JSON ran out");
    }

    @Test
    void keepsFirstNPerKindAndWritesJsonThatReadsBack() throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 7; i++) rows.append(row(msg("user", "질문 " + i))).append('\n');   // no assistant turn, 7 times
        rows.append(row(msg("user", "q"), msg("assistant", "a"))).append('\n');
        Path file = Collected.write(dir, "few.jsonl", rows.toString());
        ValidationReport report = new ValidationReport(3);
        DataFile.read(file, ReaderOptions.DEFAULTS, ExampleCheck.NONE, report, e -> { });
        assertEquals(7, report.count(Problem.Kind.NO_ASSISTANT_TURN));
        assertEquals(List.of(1L, 2L, 3L), report.firstProblems(Problem.Kind.NO_ASSISTANT_TURN).stream().map(Problem::line).toList());

        Path out = dir.resolve("reports/validation.json");
        report.writeJson(out);
        assertFalse(Files.exists(dir.resolve("reports/validation.json.tmp")), "no temp file left behind");
        JsonNode json = new ObjectMapper().readTree(out.toFile());
        assertEquals(8, json.get("rows").asLong());
        assertEquals(1, json.get("valid").asLong());
        JsonNode kind = json.get("problems").get("no_assistant_turn");
        assertEquals(7, kind.get("count").asLong());
        assertEquals(3, kind.get("first").size());
        assertEquals(file + ":1: no assistant turn, so nothing to train on", kind.get("first").get(0).asText());

        String summary = report.summary();
        assertTrue(summary.contains("rows: 8  valid: 1  invalid: 7"), summary);
        assertTrue(summary.contains("... and 4 more"), summary);
    }
}
