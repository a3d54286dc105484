package jlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.backend.cpu.CpuBackend;
import jlora.data.Message;
import jlora.infer.ChatEngine;
import jlora.infer.ChatRequest;
import jlora.infer.ChatResult;
import jlora.infer.SamplingParams;
import jlora.infer.StopCriteria;
import jlora.io.PeftAdapter;
import jlora.model.ModelConfig;
import jlora.model.TinyModel;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.nn.LoraConfig;
import jlora.nn.LoraPair;
import jlora.tensor.DType;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jlora chat` end to end on the built-in tiny model (one-shot output against a greedy loop
 * written here over CausalLM's full forward, without the KV cache or Generator), and the
 * interactive loop's history handling on a recording ChatEngine fed lines as stdin.
 */
class ChatCommandTest {
    @TempDir
    Path tmp;

    @Test
    void oneShotPrintsTheGreedyReply() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        String user = "안녕하세요";
        int max = 10;
        var r = InfoCommandTest.run("chat", "--model", dir.toString(), "--prompt", user, "--temperature", "0",
                "--max-new-tokens", String.valueOf(max));
        assertEquals(0, r.exit(), r.err());
        String want = referenceGreedy(dir, LoadOptions.DEFAULT, user, max);
        assertTrue(r.out().startsWith(want + "\n"), "got [" + r.out() + "], reference [" + want + "]");
    }

    /** With --adapter the reply is the greedy reply of base + LoRA (unmerged), not the base's. */
    @Test
    void oneShotWithAdapter() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        Path adapter = tmp.resolve("adapter");
        long seed = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(seed);
        LoraConfig lora = LoraConfig.builder().r(4).loraAlpha(8).targetModules("all-linear").seed(seed).build();
        try (CausalLM m = CausalLM.load(dir, new CpuBackend(), LoadOptions.DEFAULT.withLora(lora))) {
            for (LoraPair p : m.lora().pairs()) {
                for (long i = 0; i < p.b().numel(); i++) p.b().setFloat(i, (float) (0.5 * rng.nextGaussian()));
            }
            PeftAdapter.save(adapter, m.lora(), dir.toString(), null, DType.F32);
        }
        String user = "hello";
        String want = referenceGreedy(dir, LoadOptions.DEFAULT.withAdapter(adapter), user, 10);
        assertNotEquals(referenceGreedy(dir, LoadOptions.DEFAULT, user, 10), want, "seed " + seed + ": the adapter changes the reply");
        var r = InfoCommandTest.run("chat", "--model", dir.toString(), "--adapter", adapter.toString(), "--prompt", user,
                "--temperature", "0", "--max-new-tokens", "10");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith(want + "\n"), "seed " + seed + ": got [" + r.out() + "], reference [" + want + "]");
    }

    @Test
    void interactiveLoopOnTheTinyModelReadsStdinUntilExit() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        InputStream old = System.in;
        System.setIn(new ByteArrayInputStream("hello\n/reset\n/exit\nnever read\n".getBytes(StandardCharsets.UTF_8)));
        try {
            var r = InfoCommandTest.run("chat", "--model", dir.toString(), "--max-new-tokens", "4", "--seed", "1");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().startsWith("jlora chat: tiny"), r.out());
            assertTrue(r.out().contains("(history cleared)"), r.out());
        } finally {
            System.setIn(old);
        }
    }

    @Test
    void historySystemAndReset() {
        List<ChatRequest> seen = new ArrayList<>();
        ChatEngine fake = new ChatEngine() {
            public String modelId() { return "fake"; }
            public int promptTokens(ChatRequest request) { return 0; }
            public ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled) {
                seen.add(request);
                String reply = "reply" + seen.size();
                onText.accept(reply.substring(0, 3));
                onText.accept(reply.substring(3));
                return new ChatResult(reply, List.of(), "stop", 1, 1);
            }
        };
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ChatSession s = new ChatSession(fake, SamplingParams.GREEDY, null, out);
        s.loop(new BufferedReader(new StringReader("hello\n/system be brief\nsecond\n/reset\nthird\n/bogus\n")));
        assertEquals(3, seen.size());
        assertEquals(List.of(Message.user("hello")), seen.get(0).messages());
        assertEquals(List.of(Message.system("be brief"), Message.user("hello"), Message.assistant("reply1", List.of()),
                Message.user("second")), seen.get(1).messages());
        assertEquals(List.of(Message.system("be brief"), Message.user("third")), seen.get(2).messages());
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("reply1\n") && text.contains("reply2\n") && text.contains("reply3\n"), text);
        assertTrue(text.contains("unknown command /bogus"), text);
    }

    /** interrupt() during a reply reaches the engine's cancellation poll; outside a reply it reports false. */
    @Test
    void interruptCancelsTheReplyInProgress() {
        ChatSession[] session = new ChatSession[1];
        ChatEngine fake = new ChatEngine() {
            public String modelId() { return "fake"; }
            public int promptTokens(ChatRequest request) { return 0; }
            public ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled) {
                onText.accept("partial");
                if (cancelled.getAsBoolean()) return new ChatResult("x", List.of(), "early", 1, 1);
                assertTrue(session[0].interrupt());
                return new ChatResult("partial", List.of(), cancelled.getAsBoolean() ? "cancelled" : "stop", 1, 1);
            }
        };
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        session[0] = new ChatSession(fake, SamplingParams.GREEDY, null, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertEquals(false, session[0].interrupt());
        assertEquals("cancelled", session[0].turn("hi").finishReason());
        assertEquals("cancelled", session[0].turn("again").finishReason(), "the flag is cleared for each turn");
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("partial\n(stopped)"), bytes.toString(StandardCharsets.UTF_8));
        assertEquals(Message.assistant("partial", List.of()), session[0].history().get(1));
    }

    /** Greedy by argmax over full forwards of the whole sequence, stopping on the model's EOS ids. */
    static String referenceGreedy(Path dir, LoadOptions options, String user, int max) {
        Tokenizer tok = Tokenizer.load(dir);
        ChatTemplate t = ChatTemplate.load(dir);
        int[] ids = tok.encode(t.render(List.of(Message.user(user)), null, true, Map.of()), false);
        int promptLength = ids.length;
        Set<Integer> eos = StopCriteria.eosIds(dir, ModelConfig.load(dir).eosTokenIds(), tok.specialTokens().eos());
        try (CausalLM m = CausalLM.load(dir, new CpuBackend(), options)) {
            for (int i = 0; i < max; i++) {
                int[] pos = new int[ids.length];
                for (int p = 0; p < pos.length; p++) pos[p] = p;
                float[] l = m.forward(ids, pos);
                int best = 0;
                for (int v = 1; v < l.length; v++) if (l[v] > l[best]) best = v;
                if (eos.contains(best)) break;
                ids = Arrays.copyOf(ids, ids.length + 1);
                ids[ids.length - 1] = best;
            }
        }
        return tok.decode(Arrays.copyOfRange(ids, promptLength, ids.length), true);
    }
}
