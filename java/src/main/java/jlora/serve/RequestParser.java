package jlora.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jlora.UserError;
import jlora.data.Message;
import jlora.infer.ChatRequest;
import jlora.infer.SamplingParams;

/**
 * Turns an OpenAI request body into a {@link ParsedRequest}, or an {@link ApiError} naming the
 * field. Unknown fields are ignored, as OpenAI-compatible servers do (clients send user,
 * logit_bias, ...). Ranges are OpenAI's: temperature 0..2, top_p in (0, 1], at most 4 stop
 * strings, n = 1 only.
 */
final class RequestParser {
    /** Nesting and string caps keep a hostile body from costing more than its byte size allows. */
    static ObjectMapper mapper(int maxBodyBytes) {
        JsonFactory f = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(64)
                        .maxNumberLength(64)
                        .maxStringLength(maxBodyBytes)
                        .maxNameLength(1024)
                        .build())
                .build();
        return new ObjectMapper(f).disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    private static final int MAX_STOP = 4;

    private final ObjectMapper json;
    private final ServeConfig config;

    RequestParser(ObjectMapper json, ServeConfig config) {
        this.json = json;
        this.config = config;
    }

    ParsedRequest chat(byte[] body) {
        ObjectNode root = object(body);
        JsonNode msgs = root.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw ApiError.invalid("'messages' must be a non-empty array of {\"role\", \"content\"} objects", "messages");
        }
        if (msgs.size() > config.maxMessages()) {
            throw ApiError.invalid("'messages' has " + msgs.size() + " entries; this server takes at most "
                    + config.maxMessages(), "messages", "too_many_messages");
        }
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) messages.add(message(msgs.get(i), i));
        List<Map<String, Object>> tools = tools(root);
        tools = applyToolChoice(root.get("tool_choice"), tools);
        Map<String, Object> extras = new LinkedHashMap<>();
        JsonNode kwargs = root.get("chat_template_kwargs");
        if (kwargs != null && kwargs.isObject()) {
            // vLLM's field: e.g. {"enable_thinking": false} for Qwen3 templates.
            extras.putAll(json.convertValue(kwargs, Map.class));
        }
        return new ParsedRequest(new ChatRequest(messages, tools, sampling(root), extras),
                bool(root, "stream"), includeUsage(root), false);
    }

    /**
     * /v1/completions: the prompt becomes one user message rendered through the chat
     * template: the ChatEngine interface has no raw-prompt call, and a chat-tuned model is what
     * jlora serves, so this is the honest mapping. A raw-text call would be an additive method.
     */
    ParsedRequest completion(byte[] body) {
        ObjectNode root = object(body);
        JsonNode prompt = root.get("prompt");
        String text;
        if (prompt != null && prompt.isTextual()) {
            text = prompt.asText();
        } else if (prompt != null && prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
            text = prompt.get(0).asText();
        } else {
            throw ApiError.invalid("'prompt' must be a string (or a list of one string)", "prompt");
        }
        if (root.has("suffix") && !root.get("suffix").isNull()) {
            throw ApiError.invalid("'suffix' (fill-in-the-middle) is not supported", "suffix");
        }
        if (bool(root, "echo")) throw ApiError.invalid("'echo' is not supported", "echo");
        return new ParsedRequest(new ChatRequest(List.of(Message.user(text)), List.of(), sampling(root), Map.of()),
                bool(root, "stream"), includeUsage(root), true);
    }

    private ObjectNode object(byte[] body) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.invalid("request body is not valid JSON: " + e.getOriginalMessage(), null);
        } catch (java.io.IOException e) {
            throw ApiError.invalid("request body could not be read: " + e.getMessage(), null);
        }
        if (!(root instanceof ObjectNode o)) throw ApiError.invalid("request body must be a JSON object", null);
        JsonNode n = o.get("n");
        if (n != null && !n.isNull() && !(n.canConvertToInt() && n.asInt() == 1)) {
            throw ApiError.invalid("only n = 1 is supported", "n");
        }
        JsonNode format = o.get("response_format");
        if (format != null && !format.isNull() && !"text".equals(format.path("type").asText())) {
            // Structured output needs constrained decoding in the sampler; refusing beats pretending.
            throw ApiError.invalid("response_format " + format.path("type").asText() + " is not supported; only \"text\"", "response_format");
        }
        if (o.path("logprobs").asBoolean(false)) throw ApiError.invalid("logprobs are not supported", "logprobs");
        return o;
    }

    private Message message(JsonNode node, int i) {
        String param = "messages[" + i + "]";
        if (!node.isObject()) throw ApiError.invalid(param + " must be an object", param);
        String role = node.path("role").asText("");
        if (role.equals("developer")) {
            // OpenAI's newer name for the system role; chat templates know only "system".
            ((ObjectNode) node).put("role", "system");
            role = "system";
        }
        if (!List.of("system", "user", "assistant", "tool").contains(role)) {
            throw ApiError.invalid(param + ".role is \"" + role + "\"; use system, developer, user, assistant or tool", param + ".role");
        }
        Message m;
        try {
            m = json.treeToValue(node, Message.class);
        } catch (JsonProcessingException e) {
            Throwable c = e.getCause();
            String why = c instanceof UserError ? c.getMessage() : e.getOriginalMessage();
            throw ApiError.invalid(param + ": " + why, param);
        } catch (UserError e) {
            throw ApiError.invalid(param + ": " + e.getMessage(), param);
        }
        if (m.content() == null && m.toolCalls().isEmpty()) {
            throw ApiError.invalid(param + ".content is missing", param + ".content");
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> tools(ObjectNode root) {
        JsonNode t = root.get("tools");
        if (t == null || t.isNull()) return List.of();
        if (!t.isArray()) throw ApiError.invalid("'tools' must be an array", "tools");
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            JsonNode tool = t.get(i);
            if (!"function".equals(tool.path("type").asText()) || !tool.path("function").path("name").isTextual()) {
                throw ApiError.invalid("tools[" + i + "] must be {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": {...}}}",
                        "tools[" + i + "]");
            }
            out.add(json.convertValue(tool, LinkedHashMap.class));
        }
        return out;
    }

    /**
     * "auto" (and absent): every tool goes to the template. "none": no tool is shown, so the
     * model cannot call one. A named function: only that tool is shown. "required" shows all
     * tools; neither it nor a named choice is enforced by constrained decoding (that needs the
     * model's sampler), so the model may still answer in text.
     */
    private static List<Map<String, Object>> applyToolChoice(JsonNode choice, List<Map<String, Object>> tools) {
        if (choice == null || choice.isNull()) return tools;
        if (choice.isTextual()) {
            return switch (choice.asText()) {
                case "auto", "required" -> tools;
                case "none" -> List.of();
                default -> throw ApiError.invalid("tool_choice must be \"auto\", \"none\", \"required\" or "
                        + "{\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
            };
        }
        String name = choice.path("function").path("name").asText(null);
        if (name == null) throw ApiError.invalid("tool_choice object needs function.name", "tool_choice");
        List<Map<String, Object>> named = tools.stream()
                .filter(t -> name.equals(((Map<?, ?>) t.get("function")).get("name"))).toList();
        if (named.isEmpty()) throw ApiError.invalid("tool_choice names \"" + name + "\", which is not in 'tools'", "tool_choice");
        return named;
    }

    private SamplingParams sampling(ObjectNode root) {
        double temperature = number(root, "temperature", 1.0, 0, 2);
        double topP = number(root, "top_p", 1.0, 0, 1);
        if (topP == 0) throw ApiError.invalid("top_p must be in (0, 1]", "top_p");
        int topK = (int) number(root, "top_k", 0, 0, 1 << 20);
        double minP = number(root, "min_p", 0, 0, 1);
        double repetition = number(root, "repetition_penalty", 1.0, 0.01, 10);
        Long seed = null;
        JsonNode s = root.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.canConvertToLong() || !s.isIntegralNumber()) throw ApiError.invalid("seed must be an integer", "seed");
            seed = s.asLong();
        }
        String tokensField = root.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int maxTokens = config.maxTokens();
        JsonNode mt = root.get(tokensField);
        if (mt != null && !mt.isNull()) {
            if (!mt.isIntegralNumber() || mt.asLong() < 1) throw ApiError.invalid(tokensField + " must be a positive integer", tokensField);
            if (mt.asLong() > config.maxTokens()) {
                throw ApiError.invalid(tokensField + " is " + mt.asLong() + "; this server allows at most " + config.maxTokens(),
                        tokensField, "max_tokens_too_large");
            }
            maxTokens = mt.asInt();
        }
        return new SamplingParams(temperature, topP, topK, minP, repetition, seed, maxTokens, stop(root.get("stop")));
    }

    private static List<String> stop(JsonNode stop) {
        if (stop == null || stop.isNull()) return List.of();
        if (stop.isTextual()) return stop.asText().isEmpty() ? List.of() : List.of(stop.asText());
        if (!stop.isArray() || stop.size() > MAX_STOP) {
            throw ApiError.invalid("stop must be a string or a list of at most " + MAX_STOP + " strings", "stop");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode s : stop) {
            if (!s.isTextual()) throw ApiError.invalid("stop must hold strings only", "stop");
            if (!s.asText().isEmpty()) out.add(s.asText());
        }
        return out;
    }

    private static double number(ObjectNode root, String field, double dflt, double lo, double hi) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw ApiError.invalid(field + " must be a number", field);
        double d = v.asDouble();
        if (!(d >= lo && d <= hi)) throw ApiError.invalid(field + " is " + d + "; it must be between " + lo + " and " + hi, field);
        return d;
    }

    private static boolean bool(ObjectNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw ApiError.invalid(field + " must be true or false", field);
        return v.asBoolean();
    }

    private static boolean includeUsage(ObjectNode root) {
        JsonNode so = root.get("stream_options");
        return so != null && so.path("include_usage").asBoolean(false);
    }
}
