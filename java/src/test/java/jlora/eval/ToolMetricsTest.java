package jlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import jlora.data.ToolCall;
import org.junit.jupiter.api.Test;

/**
 * Oracle: a hand-made set of five turns whose per-turn scores and rates are worked out by hand
 * from the definitions in {@link ToolMetrics}'s Javadoc (exact fractions, tolerance 1e-12).
 */
class ToolMetricsTest {
    static final Set<String> SCHEMA = Set.of("get_weather", "add_calendar_event", "convert_units");

    static ToolCall call(String name, Map<String, Object> args) {
        return new ToolCall(null, name, args);
    }

    static final ToolCall WEATHER = call("get_weather", Map.of("city", "제주", "date", "2025-05-12"));
    static final ToolCall EVENT = call("add_calendar_event", Map.of("title", "치과", "date", "2025-05-13", "time", "15:00"));
    static final ToolCall CONVERT = call("convert_units", Map.of("value", 16, "from", "C", "to", "F"));

    static final List<ToolMetrics.Sample> SET = List.of(
            // a: right tool, same arguments in another key order.
            new ToolMetrics.Sample(List.of(WEATHER), List.of(call("get_weather", Map.of("date", "2025-05-12", "city", "제주"))), 0, SCHEMA),
            // b: right tool, wrong city: 1 of 2 keys agree.
            new ToolMetrics.Sample(List.of(WEATHER), List.of(call("get_weather", Map.of("city", "서울", "date", "2025-05-12"))), 0, SCHEMA),
            // c: the block did not parse: no call, one malformed block.
            new ToolMetrics.Sample(List.of(WEATHER), List.of(), 1, SCHEMA),
            // d: a tool outside the schema; title and date agree of {title, date, time}: 2/3.
            new ToolMetrics.Sample(List.of(EVENT), List.of(call("book_appointment", Map.of("title", "치과", "date", "2025-05-13"))), 0, SCHEMA),
            // e: 16.0 equals 16, but an extra key: not exact, 3 of 4 keys agree.
            new ToolMetrics.Sample(List.of(CONVERT), List.of(call("convert_units", Map.of("value", 16.0, "from", "C", "to", "F", "round", 1))), 0, SCHEMA));

    @Test
    void perTurnScores() {
        boolean[][] expected = {  // name, exact, valid, hallucinated
                {true, true, true, false},
                {true, false, true, false},
                {false, false, false, false},
                {false, false, true, true},
                {true, false, true, false}};
        double[] partial = {1, 0.5, 0, 2.0 / 3, 0.75};
        for (int i = 0; i < SET.size(); i++) {
            ToolMetrics.Score s = ToolMetrics.score(SET.get(i));
            String at = "turn " + (char) ('a' + i) + ": ";
            assertEquals(expected[i][0], s.nameCorrect(), at + "name");
            assertEquals(expected[i][1], s.parametersExact(), at + "exact parameters");
            assertEquals(expected[i][2], s.jsonValid(), at + "json valid");
            assertEquals(expected[i][3], s.hallucinated(), at + "hallucinated");
            assertEquals(partial[i], s.parameterPartial(), 1e-12, at + "partial");
        }
    }

    @Test
    void rates() {
        ToolMetrics.Rates r = ToolMetrics.rates(SET.stream().map(ToolMetrics::score).toList());
        assertEquals(5, r.samples());
        assertEquals(3.0 / 5, r.toolNameAccuracy(), 1e-12, "a, b, e name the right tool");
        assertEquals(1.0 / 5, r.parameterAccuracy(), 1e-12, "only a is exact");
        assertEquals((1 + 0.5 + 0 + 2.0 / 3 + 0.75) / 5, r.parameterPartial(), 1e-12, "mean partial");
        assertEquals(4.0 / 5, r.jsonValidityRate(), 1e-12, "c did not parse");
        assertEquals(1.0 / 5, r.hallucinationRate(), 1e-12, "d called book_appointment");
    }

    @Test
    void numbersCompareByValueAndNestedValuesRecurse() {
        assertTrue(ToolMetrics.valuesEqual(16, 16.0));
        assertTrue(ToolMetrics.valuesEqual(Map.of("a", List.of(1, 2.5)), Map.of("a", List.of(1.0, 2.5))));
        assertFalse(ToolMetrics.valuesEqual(List.of(1, 2), List.of(2, 1)), "arrays keep order");
        assertFalse(ToolMetrics.valuesEqual("16", 16), "a string is not a number");
    }

    @Test
    void twoCallsInOrderAndAMissingSecond() {
        // Expected two calls, predicted only the first: names differ in count (wrong), partial = (1 + 0) / 2.
        ToolMetrics.Score s = ToolMetrics.score(new ToolMetrics.Sample(List.of(WEATHER, EVENT), List.of(WEATHER), 0, SCHEMA));
        assertFalse(s.nameCorrect());
        assertFalse(s.parametersExact());
        assertEquals(0.5, s.parameterPartial(), 1e-12);
        assertTrue(s.jsonValid());
    }

    @Test
    void emptySetHasNoRates() {
        assertTrue(Double.isNaN(ToolMetrics.rates(List.of()).toolNameAccuracy()));
    }
}
