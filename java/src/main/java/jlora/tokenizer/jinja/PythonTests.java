package jlora.tokenizer.jinja;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;

import java.util.List;
import java.util.Map;

/**
 * Jinja2's {@code iterable} and {@code sequence} tests, which Jinjava answers false for
 * strings. Python says true (a str has __iter__, __len__ and __getitem__), and Llama 3.1's
 * template relies on it: a tool message's string content "is iterable", so it is written
 * through tojson, quoted.
 */
final class PythonTests {
    private PythonTests() {}

    static List<ExpTest> all() {
        return List.of(new Named("iterable"), new Named("sequence"));
    }

    private record Named(String name) implements ExpTest {
        @Override public String getName() { return name; }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof String || var instanceof Iterable<?> || var instanceof Map<?, ?> || var instanceof Object[];
        }
    }
}
