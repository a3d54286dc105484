package jlora.data;

import jlora.model.TinyModel;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Labels on the built-in tiny model (byte-level BPE + ChatML). The oracle is the ChatML
 * format itself: the trained text of a conversation is, by definition, each assistant
 * message's content followed by {@code <|im_end|>}; decoding the labelled tokens must give
 * exactly that concatenation (no tolerance). Truncation is checked against the untruncated
 * tokenization of the same example.
 */
class LabelMaskTest {
    private static final String[] PIECES = {
            "안녕하세요", "서울의 날씨는 맑습니다.", "Hello there", "줄바꿈\n포함", "emoji 😊", "{\"json\": true}",
            "끝.", "1234 + 5678", "코드: for (int i = 0; i < n; i++)", "<|im_end|> 글자 그대로"};

    @TempDir
    static Path tmp;
    static Tokenizer tokenizer;
    static ChatTemplate template;

    @BeforeAll
    static void load() {
        Path dir = TinyModel.materialize(tmp.resolve("tiny"));
        tokenizer = Tokenizer.load(dir);
        template = ChatTemplate.load(dir);
    }

    static String text(Random r) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) sb.append(i > 0 ? " " : "").append(PIECES[r.nextInt(PIECES.length)]);
        return sb.toString();
    }

    static Conversation randomConversation(Random r, boolean system) {
        List<Message> m = new ArrayList<>();
        if (system) m.add(Message.system("당신은 친절한 도우미입니다. " + text(r)));
        for (int t = 0, turns = 1 + r.nextInt(4); t < turns; t++) {
            m.add(Message.user(text(r)));
            m.add(Message.assistant(text(r)));
        }
        return new Conversation(m, List.of(), "test");
    }

    /** Decodes exactly the labelled positions, checking each label equals its token id. */
    static String labelledText(Tokenizer tok, TokenizedExample t) {
        int[] kept = new int[t.length()];
        int n = 0;
        for (int i = 0; i < t.length(); i++) {
            if (t.labels()[i] == TokenizedExample.IGNORE) continue;
            assertEquals(t.ids()[i], t.labels()[i], "label at " + i + " differs from its token id");
            kept[n++] = t.ids()[i];
        }
        return tok.decode(Arrays.copyOf(kept, n), false, false);
    }

    static TokenizedExample tokenize(ExampleTokenizer tok, Example e) {
        ExampleTokenizer.Outcome o = tok.outcome(e);
        assertNull(o.rejection(), e.location());
        return o.example();
    }

    @Test
    void assistantLabelsDecodeToTheAssistantContents() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        var tok = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(100_000));
        var last = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(100_000).withLossOn(TokenizeOptions.LossOn.LAST_ASSISTANT));
        for (int trial = 0; trial < 25; trial++) {
            Conversation c = randomConversation(r, r.nextBoolean());
            Example e = Example.chat(c, "random", trial + 1);
            StringBuilder expected = new StringBuilder();
            String lastTurn = null;
            for (Message m : c.messages()) {
                if (m.role().equals("assistant")) {
                    lastTurn = m.content() + "<|im_end|>";
                    expected.append(lastTurn);
                }
            }
            String where = "seed " + seed + " trial " + trial;
            TokenizedExample t = tokenize(tok, e);
            assertEquals(expected.toString(), labelledText(tokenizer, t), where);
            assertEquals(0, t.droppedTurns(), where);
            assertEquals(lastTurn, labelledText(tokenizer, tokenize(last, e)), where + ": last assistant only");
            // No BOS is added to a chat render: the ids are exactly the rendered text's tokens.
            assertArrayEquals(tokenizer.encode(template.render(c, false, Map.of()), false), t.ids(), where);
        }
    }

    @Test
    void lossOnAllTrainsEveryTokenButTheFirst() {
        var tok = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(100_000).withLossOn(TokenizeOptions.LossOn.ALL));
        Conversation c = randomConversation(new Random(1), true);
        TokenizedExample t = tokenize(tok, Example.chat(c, "f", 1));
        assertEquals(TokenizedExample.IGNORE, t.labels()[0]);
        for (int i = 1; i < t.length(); i++) assertEquals(t.ids()[i], t.labels()[i], "position " + i);
    }

    @Test
    void plainTextTrainsTheCompletionAndAnAppendedEos() {
        var tok = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(100_000));
        String prompt = "질문: 대한민국의 수도는?\n답:";
        String completion = " 서울입니다.";
        TokenizedExample t = tokenize(tok, Example.plain(prompt + completion, prompt.length(), "s", "f", 1));
        // TRL appends eos_token (<|im_end|> for this model, as for Qwen) to language-modelling rows.
        assertEquals(tokenizer.specialTokens().eos(), t.ids()[t.length() - 1]);
        assertEquals(completion + "<|im_end|>", labelledText(tokenizer, t));
        TokenizedExample text = tokenize(tok, Example.plain("그냥 글입니다.", 0, "s", "f", 2));
        assertEquals(text.length() - 1, text.trainedTokens(), "a text row trains every token but the first");
    }

    /** A conversation long enough to need truncation at the given max. */
    static Conversation longConversation(Random r) {
        List<Message> m = new ArrayList<>();
        m.add(Message.system("시스템 프롬프트: 항상 한국어로 답하세요."));
        for (int t = 0; t < 8; t++) {
            m.add(Message.user(text(r)));
            m.add(Message.assistant(text(r)));
        }
        return new Conversation(m, List.of(), "long");
    }

    @Test
    void truncateLeftKeepsTheSystemPromptAndTheTail() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        var full = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(100_000));
        int truncated = 0;
        for (int trial = 0; trial < 10; trial++) {
            Conversation c = longConversation(r);
            Example e = Example.chat(c, "long", trial + 1);
            TokenizedExample whole = tokenize(full, e);
            String sysText = "<|im_start|>system\n" + c.messages().getFirst().content() + "<|im_end|>\n";
            int head = 0;
            while (head < whole.length() && !tokenizer.decode(Arrays.copyOf(whole.ids(), head), false, false).equals(sysText)) head++;
            assertTrue(head < whole.length(), "no token boundary after the system turn");
            int max = head + 1 + r.nextInt(whole.length() - head - 1);
            String where = "seed " + seed + " trial " + trial + " max " + max + " head " + head;
            var cut = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(max).withTruncation(TokenizeOptions.Truncation.TRUNCATE_LEFT));
            ExampleTokenizer.Outcome o = cut.outcome(e);
            if (o.example() == null) {
                // Only allowed when the kept tail holds no trained token.
                int trainedInTail = 0;
                for (int i = whole.length() - (max - head) + 1; i < whole.length(); i++) if (whole.labels()[i] != TokenizedExample.IGNORE) trainedInTail++;
                assertEquals(0, trainedInTail, where + ": rejected although the tail trains something: " + o.rejection());
                continue;
            }
            TokenizedExample t = o.example();
            truncated++;
            assertEquals(max, t.length(), where);
            assertEquals(whole.length(), t.fullLength(), where);
            assertArrayEquals(Arrays.copyOf(whole.ids(), head), Arrays.copyOf(t.ids(), head), where + ": system prompt kept");
            assertArrayEquals(Arrays.copyOfRange(whole.ids(), whole.length() - (max - head), whole.length()),
                    Arrays.copyOfRange(t.ids(), head, max), where + ": tail kept");
            assertEquals(TokenizedExample.IGNORE, t.labels()[head], where + ": the token after the cut has no real predecessor");
            assertArrayEquals(Arrays.copyOfRange(whole.labels(), whole.length() - (max - head) + 1, whole.length()),
                    Arrays.copyOfRange(t.labels(), head + 1, max), where + ": tail labels");
        }
        assertEquals(0, full.report().truncated(), "nothing is truncated at max 100000");
        assertTrue(truncated > 0, "seed " + seed + ": every trial was rejected; truncation went unchecked");
    }

    /** The drop policy rejects through the reader's ExampleCheck hook: counted as TOO_LONG, the rest kept. */
    @Test
    void dropCountsTooLongInTheValidationReport() throws Exception {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        List<Conversation> convs = new ArrayList<>();
        for (int i = 0; i < 12; i++) convs.add(randomConversation(r, r.nextBoolean()));
        Path file = tmp.resolve("drop-" + seed + ".jsonl");
        Files.writeString(file, ExampleJson.toJsonLines(convs.stream().map(c -> Example.chat(c, "x", 0)).toList()));
        var full = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(100_000));
        int[] lengths = convs.stream().mapToInt(c -> tokenize(full, Example.chat(c, "x", 0)).length()).sorted().toArray();
        int max = lengths[lengths.length / 2];
        long expectTooLong = Arrays.stream(lengths).filter(l -> l > max).count();
        var tok = new ExampleTokenizer(tokenizer, template, TokenizeOptions.defaults(max));
        ValidationReport report = new ValidationReport();
        List<TokenizedExample> kept = new ArrayList<>();
        DataFile.read(file, ReaderOptions.DEFAULTS, tok.check(), report, e -> kept.add(tok.take(e)));
        assertEquals(expectTooLong, report.count(Problem.Kind.TOO_LONG), "seed " + seed);
        assertEquals(12 - expectTooLong, kept.size(), "seed " + seed);
        for (TokenizedExample t : kept) {
            assertNotNull(t);
            assertTrue(t.length() <= max, "kept " + t.length() + " > " + max);
        }
    }

    /** A conversation the chat template rejects is counted as TEMPLATE_ERROR with its location; the others are kept. */
    @Test
    void templateErrorsAreCountedAndReadingGoesOn() throws Exception {
        ChatTemplate picky = ChatTemplate.of("{% if messages|length > 2 %}{{ raise_exception('only one exchange, please') }}{% endif %}"
                + TinyModel.CHATML_TEMPLATE, Map.of(), "picky template");
        List<Conversation> convs = List.of(
                Conversation.of(Message.user("하나"), Message.assistant("일")),
                Conversation.of(Message.user("둘"), Message.assistant("이"), Message.user("셋"), Message.assistant("삼")),
                Conversation.of(Message.user("넷"), Message.assistant("사")));
        Path file = tmp.resolve("picky.jsonl");
        Files.writeString(file, ExampleJson.toJsonLines(convs.stream().map(c -> Example.chat(c, "x", 0)).toList()));
        var tok = new ExampleTokenizer(tokenizer, picky, TokenizeOptions.defaults(4096));
        ValidationReport report = new ValidationReport();
        List<TokenizedExample> kept = new ArrayList<>();
        DataFile.read(file, ReaderOptions.DEFAULTS, tok.check(), report, e -> kept.add(tok.take(e)));
        assertEquals(2, kept.size());
        assertEquals(1, report.count(Problem.Kind.TEMPLATE_ERROR));
        Problem p = report.firstProblems(Problem.Kind.TEMPLATE_ERROR).getFirst();
        assertEquals(2, p.line(), p.toString());
        assertTrue(p.reason().contains("only one exchange, please"), p.reason());
    }
}
