package jlora.data;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading scalar fields the way datasets write them. */
final class Fields {
    private Fields() {}

    /**
     * A field as text: null when absent or JSON null; strings as they are; numbers and booleans
     * as written; a list of OpenAI content parts ({@code [{"type": "text", "text": ...}]}) as
     * its text parts joined.
     */
    static String text(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) return null;
        if (n.isValueNode()) return n.asText();
        if (n.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : n) {
                if (part.isTextual()) sb.append(part.asText());
                else if (part.path("type").asText("text").equals("text")) sb.append(part.path("text").asText(""));
            }
            return sb.toString();
        }
        return n.toString();
    }

    static boolean blank(String s) { return s == null || s.isBlank(); }
}
