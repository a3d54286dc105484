package jlora.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jlora.UserError;
import jlora.data.Conversation;
import jlora.data.Message;
import jlora.tokenizer.jinja.TemplateRewriter;
import jlora.tokenizer.jinja.GenerationTag;
import jlora.tokenizer.jinja.TemplateEngine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template, rendered as transformers' {@code apply_chat_template(...,
 * tokenize=False)} renders it: the context holds {@code messages}, {@code tools},
 * {@code add_generation_prompt}, the special tokens of tokenizer_config.json
 * ({@code bos_token}, {@code eos_token}, ...) and any extra variables ({@code enable_thinking}).
 *
 * <p>Where the template comes from, in transformers' order: {@code chat_template.jinja} in the
 * model directory, else {@code chat_template} in tokenizer_config.json (a string, or a list of
 * {@code {name, template}} of which "tool_use" is taken when tools are given and "default"
 * otherwise), else the ChatML template transformers used as its default.
 */
public final class ChatTemplate {
    /** transformers' former class-level default: ChatML. */
    public static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static final List<String> SPECIAL_TOKEN_KEYS =
            List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TemplateEngine DEFAULT_ENGINE = new TemplateEngine(TemplateEngine.Limits.DEFAULT);

    private final Map<String, TemplateEngine.Compiled> templates;  // name -> parsed template
    private final Map<String, Object> specialTokens;
    private final String origin;
    private final TemplateEngine engine;
    private final boolean generationBlocks;

    private ChatTemplate(Map<String, TemplateEngine.Compiled> templates, Map<String, Object> specialTokens, String origin,
                         TemplateEngine engine) {
        this.templates = templates;
        this.specialTokens = specialTokens;
        this.origin = origin;
        this.engine = engine;
        this.generationBlocks = templates.values().stream().anyMatch(TemplateEngine.Compiled::hasGenerationBlocks);
    }

    /** A template given as text, with the special tokens it may refer to. */
    public static ChatTemplate of(String template, Map<String, String> specialTokens, String origin) {
        return of(template, specialTokens, origin, DEFAULT_ENGINE);
    }

    public static ChatTemplate of(String template, Map<String, String> specialTokens, String origin, TemplateEngine engine) {
        return new ChatTemplate(Map.of("default", engine.compile(TemplateRewriter.rewrite(template), origin)),
                new HashMap<>(specialTokens), origin, engine);
    }

    /** The ChatML default, for models that ship no template. */
    public static ChatTemplate chatml() {
        return of(CHATML, Map.of(), "built-in ChatML template");
    }

    /** Loads the template of a Hugging Face model or tokenizer directory. */
    public static ChatTemplate load(Path modelDir) {
        Path config = modelDir.resolve("tokenizer_config.json");
        Map<String, Object> tokens = new HashMap<>();
        Map<String, String> templates = new LinkedHashMap<>();
        String origin = config.toString();
        if (Files.exists(config)) {
            JsonNode root;
            try {
                root = JSON.readTree(config.toFile());
            } catch (IOException e) {
                throw new UserError(config + ": not valid JSON (" + e.getMessage() + "); restore the file from the model's repository", e);
            }
            for (String key : SPECIAL_TOKEN_KEYS) {
                String token = tokenContent(root.get(key));
                if (token != null && !token.isEmpty()) tokens.put(key, token);
            }
            JsonNode t = root.get("chat_template");
            if (t != null && t.isTextual()) {
                templates.put("default", t.asText());
            } else if (t != null && t.isArray()) {
                for (JsonNode named : t) {
                    if (!named.path("name").isTextual() || !named.path("template").isTextual()) {
                        throw new UserError(config + ": chat_template list entries need string \"name\" and \"template\" fields");
                    }
                    templates.put(named.get("name").asText(), named.get("template").asText());
                }
            } else if (t != null && !t.isNull()) {
                throw new UserError(config + ": chat_template must be a string or a list of {name, template}");
            }
        }
        Path jinjaFile = modelDir.resolve("chat_template.jinja");
        if (Files.exists(jinjaFile)) {
            try {
                templates.put("default", Files.readString(jinjaFile, StandardCharsets.UTF_8));
                origin = jinjaFile.toString();
            } catch (IOException e) {
                throw new UserError(jinjaFile + ": cannot read (" + e.getMessage() + ")", e);
            }
        }
        if (templates.isEmpty()) {
            templates.put("default", CHATML);
            origin = "built-in ChatML template (" + modelDir + " has none)";
        }
        Map<String, TemplateEngine.Compiled> compiled = new LinkedHashMap<>();
        for (var e : templates.entrySet()) {
            String name = templates.size() > 1 ? origin + " [" + e.getKey() + "]" : origin;
            compiled.put(e.getKey(), DEFAULT_ENGINE.compile(TemplateRewriter.rewrite(e.getValue()), name));
        }
        return new ChatTemplate(compiled, tokens, origin, DEFAULT_ENGINE);
    }

    private static String tokenContent(JsonNode node) {
        if (node == null || node.isNull()) return null;
        if (node.isTextual()) return node.asText();
        if (node.isObject() && node.path("content").isTextual()) return node.get("content").asText();  // AddedToken dict
        return null;
    }

    /** The same special tokens with another template (a user's --chat-template file, say). */
    public ChatTemplate withTemplate(String template, String newOrigin) {
        return new ChatTemplate(Map.of("default", engine.compile(TemplateRewriter.rewrite(template), newOrigin)),
                specialTokens, newOrigin, engine);
    }

    /** Where the template came from, for messages. */
    public String origin() { return origin; }

    public String render(Conversation conversation, boolean addGenerationPrompt, Map<String, Object> extraContext) {
        return render(conversation.messages(), conversation.tools(), addGenerationPrompt, extraContext);
    }

    /**
     * @param tools JSON-schema function specs, or null / empty for none (the template then
     *              sees {@code tools} = none, as transformers passes it)
     */
    public String render(List<Message> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt,
                         Map<String, Object> extraContext) {
        String out = renderMarked(messages, tools, addGenerationPrompt, extraContext);
        return generationBlocks ? stripMarks(out) : out;
    }

    /** Whether the template marks assistant text with {@code {% generation %}} blocks. */
    public boolean hasGenerationBlocks() { return generationBlocks; }

    /** The render with any generation marks left in (see {@link GenerationTag}). */
    String renderMarked(List<Message> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt,
                        Map<String, Object> extraContext) {
        boolean hasTools = tools != null && !tools.isEmpty();
        Map<String, Object> ctx = new HashMap<>(specialTokens);
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (Message m : messages) msgs.add(m.toTemplateMap());
        ctx.put("messages", msgs);
        ctx.put("tools", hasTools ? tools : null);
        ctx.put("documents", null);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        if (extraContext != null) ctx.putAll(extraContext);
        return engine.render(pick(hasTools), ctx);
    }

    private static String stripMarks(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch != GenerationTag.START && ch != GenerationTag.END) sb.append(ch);
        }
        return sb.toString();
    }

    private TemplateEngine.Compiled pick(boolean hasTools) {
        if (hasTools && templates.containsKey("tool_use")) return templates.get("tool_use");
        TemplateEngine.Compiled t = templates.get("default");
        if (t != null) return t;
        if (templates.size() == 1) return templates.values().iterator().next();
        throw new UserError(origin + ": chat_template has templates " + templates.keySet()
                + " but none named \"default\"; name one \"default\"");
    }

    /**
     * The full render of a conversation and the character ranges of its assistant turns; see
     * {@link AssistantSpans}.
     */
    public AssistantSpans.Result assistantSpans(Conversation conversation, Map<String, Object> extraContext) {
        return AssistantSpans.find(this, conversation, extraContext);
    }
}
