package jlora.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import jlora.UserError;

import java.io.IOException;

/**
 * A message's content as OpenAI writes it: a string, null, or a list of parts of which the
 * text parts ({@code {"type": "text", "text": ...}}) are joined in order. Other parts (images,
 * audio) have no meaning for a text model and are a UserError.
 */
final class ContentDeserializer extends StdDeserializer<String> {
    ContentDeserializer() {
        super(String.class);
    }

    @Override
    public String deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_STRING) return p.getText();
        JsonNode node = p.readValueAsTree();
        if (node == null || node.isNull()) return null;
        if (!node.isArray()) throw new UserError("content must be a string or a list of {\"type\": \"text\", \"text\": ...} parts, got " + node);
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : node) {
            if (part.isTextual()) { sb.append(part.asText()); continue; }
            if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw new UserError("content part " + part + " is not text; only {\"type\": \"text\", \"text\": ...} parts can train a text model");
            }
            sb.append(part.get("text").asText());
        }
        return sb.toString();
    }
}
