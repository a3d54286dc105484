package jlora.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jlora.UserError;

/**
 * The tools a model may call, from a schema file: a JSON list of function specs, or an object
 * with such a list under {@code "tools"}. Each spec is the OpenAI / TRL shape
 * {@code {"type": "function", "function": {"name", "description", "parameters"}}} or the bare
 * function object {@code {"name", "description", "parameters"}}; both come out in the first
 * shape, which chat templates read.
 */
public record ToolSchema(List<Map<String, Object>> tools) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ToolSchema {
        tools = List.copyOf(tools);
    }

    public Set<String> names() {
        return names(tools);
    }

    /** Function names of OpenAI-shaped tool specs. */
    @SuppressWarnings("unchecked")
    public static Set<String> names(List<Map<String, Object>> tools) {
        Set<String> out = new LinkedHashSet<>();
        for (Map<String, Object> t : tools) {
            Object f = t.get("function");
            Object name = f instanceof Map<?, ?> m ? ((Map<String, Object>) m).get("name") : t.get("name");
            if (name instanceof String s) out.add(s);
        }
        return out;
    }

    public static ToolSchema load(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserError(file + ": cannot read the tools schema (" + e.getMessage() + "); give a JSON list of function specs");
        }
        if (root != null && root.isObject() && root.has("tools")) root = root.get("tools");
        if (root == null || !root.isArray()) {
            throw new UserError(file + ": a tools schema is a JSON list of function specs (or {\"tools\": [...]})");
        }
        List<Map<String, Object>> tools = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode t = root.get(i);
            JsonNode f = t.has("function") ? t.get("function") : t;
            if (!f.isObject() || !f.path("name").isTextual() || f.path("name").asText().isEmpty()) {
                throw new UserError(file + ": tools[" + i + "] has no function name; write {\"type\": \"function\", "
                        + "\"function\": {\"name\": ..., \"parameters\": {...}}}");
            }
            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("type", "function");
            spec.put("function", JSON.convertValue(f, Map.class));
            tools.add(spec);
        }
        if (tools.isEmpty()) throw new UserError(file + ": the tools schema lists no tool");
        return new ToolSchema(tools);
    }
}
