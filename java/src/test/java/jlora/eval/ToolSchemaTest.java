package jlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema files in the shapes the format note in {@link ToolSchema} lists come out as OpenAI
 * tool specs with the names in file order; broken files fail with the file and the fix named.
 */
class ToolSchemaTest {
    @TempDir
    Path tmp;

    private Path file(String json) throws Exception {
        Path f = tmp.resolve("schema-" + System.nanoTime() + ".json");
        Files.writeString(f, json);
        return f;
    }

    @Test
    void bareAndWrappedSpecsUnderAToolsKey() throws Exception {
        ToolSchema s = ToolSchema.load(file("{\"tools\": [{\"name\": \"a\", \"parameters\": {}},"
                + " {\"type\": \"function\", \"function\": {\"name\": \"b\"}}]}"));
        assertEquals(List.of("a", "b"), List.copyOf(s.names()));
        assertEquals("function", s.tools().get(0).get("type"));
        assertEquals(Map.of("name", "a", "parameters", Map.of()), s.tools().get(0).get("function"));
    }

    @Test
    void brokenFilesNameTheFileAndTheFix() throws Exception {
        for (String bad : List.of("{not json", "{\"x\": 1}", "[{\"description\": \"no name\"}]", "[]")) {
            Path f = file(bad);
            UserError e = assertThrows(UserError.class, () -> ToolSchema.load(f), bad);
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        }
    }
}
