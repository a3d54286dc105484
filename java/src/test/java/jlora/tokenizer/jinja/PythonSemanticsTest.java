package jlora.tokenizer.jinja;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Constructs where transformers.js' Jinja departs from Python and so cannot be the oracle:
 * here the oracle is CPython 3 itself, each expected value being what the Python expression
 * in the comment returns. Hugging Face renders templates with Python, so we follow Python.
 */
class PythonSemanticsTest {
    private static final TemplateEngine ENGINE = new TemplateEngine(TemplateEngine.Limits.DEFAULT);

    private static String render(String template, Object s) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("s", s);
        return ENGINE.render(TemplateRewriter.rewrite(template), ctx, "test");
    }

    @Test
    void stripWithCharsStripsOnlyThoseChars() {
        // transformers.js ignores the argument and strips all whitespace.
        assertEquals("  ab ", render("{{ s.strip('\\n') }}", "\n\n  ab \n"));       // "\n\n  ab \n".strip("\n")
        assertEquals("  ab\n", render("{{ s.lstrip('\\n') }}", "  ab\n"));          // "  ab\n".lstrip("\n")
        assertEquals("xxab", render("{{ s.rstrip('x') }}", "xxabxx"));             // "xxabxx".rstrip("x")
        assertEquals("b", render("{{ s.strip('ac') }}", "acbca"));                 // "acbca".strip("ac")
    }

    @Test
    void titleAndCapitalizeLowercaseTheRest() {
        // "hello wORLD, they're 안녕 x".title(); transformers.js leaves "wORLD" as "WORLD".
        assertEquals("Hello World, They'Re 안녕 X", render("{{ s.title() }}", "hello wORLD, they're 안녕 x"));
        assertEquals("  hello world", render("{{ s.capitalize() }}", "  hello wORLD"));   // "  hello wORLD".capitalize()
        assertEquals("Hello", render("{{ s.capitalize() }}", "hELLO"));                   // "hELLO".capitalize()
    }

    @Test
    void slicesCountCodePoints() {
        // Python indexes code points; JavaScript (and a naive Java substring) UTF-16 units.
        assertEquals("ba😊", render("{{ s[::-1] }}", "😊ab"));   // "😊ab"[::-1]
        assertEquals("ab", render("{{ s[1:] }}", "😊ab"));       // "😊ab"[1:]
        assertEquals("😊", render("{{ s[-3] }}", "😊ab"));       // "😊ab"[-3]
        assertEquals("[3, 1]", render("{{ s[::-2] | tojson }}", List.of(1, 2, 3)));  // [1,2,3][::-2]
        assertEquals("[]", render("{{ s[5:1] | tojson }}", List.of(1, 2, 3)));      // [1,2,3][5:1]
    }

    @Test
    void splitFollowsPython() {
        assertEquals("[\"a\", \"b\", \"\", \"c\", \"\"]", render("{{ s.split(',') | tojson }}", "a,b,,c,"));  // keeps empties
        assertEquals("[\"a\", \"b \"]", render("{{ s.split(none, 1) | tojson }}", "  a  b "));              // "  a  b ".split(None, 1)
        assertEquals("[\"a\", \"b.c\"]", render("{{ s.split('.', 1) | tojson }}", "a.b.c"));  // not a regex: '.' is literal
    }

    @Test
    void tojsonIsPythonJsonDumps() {
        // json.dumps([1, {"a": []}], indent=0): newlines without indentation; transformers.js treats 0 as none.
        assertEquals("[\n1,\n{\n\"a\": []\n}\n]", render("{{ s | tojson(indent=0) }}", List.of(1, Map.of("a", List.of()))));
        // json.dumps([1.0, 1e-05, 1e16, 123456789.0, 0.1, -2.5e-07]): Python float repr.
        assertEquals("[1.0, 1e-05, 1e+16, 123456789.0, 0.1, -2.5e-07]",
                render("{{ s | tojson }}", List.of(1.0, 1e-5, 1e16, 123456789.0, 0.1, -2.5e-7)));
        // json.dumps("\u2028\x7f\x01\"\\", ensure_ascii=False): only controls below 0x20, quote and backslash escape.
        assertEquals("\"\u2028\u007f\\u0001\\\"\\\\\"", render("{{ s | tojson }}", "\u2028\u007f\u0001\"\\"));
        // json.dumps({"b": 1, "a": 2}, sort_keys=True)
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("b", 1);
        m.put("a", 2);
        assertEquals("{\"a\": 2, \"b\": 1}", render("{{ s | tojson(sort_keys=true) }}", m));
    }

    @Test
    void strftimeNowUsesPythonDirectives() {
        // The clock is not ours to fix; the shape is: "%d %b %Y" gives e.g. "24 Nov 2026".
        String out = render("{{ strftime_now('%d %b %Y') }}", null);
        assertEquals(true, out.matches("\\d\\d [A-Z][a-z]{2} \\d{4}"), "strftime_now('%d %b %Y') gave " + out);
    }
}
