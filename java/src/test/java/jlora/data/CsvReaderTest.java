package jlora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * CSV / TSV against RFC 4180's rules (quotes, doubled quotes, CRLF, line breaks inside quoted
 * fields) and the Korean–English pair sheet of seed 004 (columns 원문 / 번역문, a BOM as Excel
 * writes "CSV UTF-8"). Oracle: the cell values written out by hand.
 */
class CsvReaderTest {
    @TempDir Path dir;

    private static final ReaderOptions PAIRS = ReaderOptions.DEFAULTS
            .withColumns(Map.of("input", "원문", "output", "번역문"))
            .withDefaults(Map.of("instruction", "다음 문장을 영어로 번역하세요."));

    @Test
    void pairSheetWithBomCrlfQuotesAndNewlinesInsideQuotes() throws Exception {
        String csv = "\uFEFF원문,번역문,비고\r\n"
                + "안녕하세요.,Hello.,\r\n"
                + "\"그는 \"\"좋아\"\"라고 말했다.\",\"He said, \"\"good.\"\"\",인용\r\n"
                + "\"첫 줄\r\n둘째 줄\",\"first line\nsecond line\",\r\n"
                + "\r\n"
                + "마지막,last";                                    // no final line break
        Collected c = Collected.read(Collected.write(dir, "dataset.csv", csv), PAIRS);
        assertEquals(0, c.report().invalid(), c.report().summary());
        List<List<Message>> got = c.examples().stream().map(e -> e.conversation().messages()).toList();
        String inst = "다음 문장을 영어로 번역하세요.\n\n";
        assertEquals(List.of(
                List.of(Message.user(inst + "안녕하세요."), Message.assistant("Hello.")),
                List.of(Message.user(inst + "그는 \"좋아\"라고 말했다."), Message.assistant("He said, \"good.\"")),
                List.of(Message.user(inst + "첫 줄\r\n둘째 줄"), Message.assistant("first line\nsecond line")),
                List.of(Message.user(inst + "마지막"), Message.assistant("last"))), got);
        // Row 3 spans lines 4-6 (a line break in each quoted field), line 7 is blank.
        assertEquals(List.of(2L, 3L, 4L, 8L), c.examples().stream().map(Example::line).toList(), "line where each row starts");
        assertEquals("dataset", c.examples().getFirst().source());
    }

    @Test
    void tsvWithHeaderNamesThatNeedNoMapping() throws Exception {
        String tsv = "instruction\tinput\toutput\n요약하세요.\t긴 글\t짧은 글\n\"탭\t포함\"\t\t네\n";
        Collected c = Collected.read(Collected.write(dir, "d.tsv", tsv));
        assertEquals(List.of(Message.user("요약하세요.\n\n긴 글"), Message.assistant("짧은 글")), c.examples().get(0).conversation().messages());
        assertEquals(Message.user("탭\t포함"), c.examples().get(1).conversation().messages().getFirst());
    }

    @Test
    void extraFieldsAndUnclosedQuoteAreReportedAndReadingGoesOn() throws Exception {
        String csv = "input,output\n가,나\n가,나,다\n라,마\n\"열림,끝\n";
        Collected c = Collected.read(Collected.writeBytes(dir, "bad.csv", csv.getBytes(StandardCharsets.UTF_8)));
        assertEquals(2, c.examples().size());
        assertEquals(2, c.report().count(Problem.Kind.MALFORMED_ROW));
        assertEquals(List.of("bad.csv:3", "bad.csv:5"), c.report().firstProblems(Problem.Kind.MALFORMED_ROW).stream()
                .map(p -> Path.of(p.file()).getFileName() + ":" + p.line()).toList());
    }

    @Test
    void reasoningColumnBecomesTheThinkingOfTheAnswer() throws Exception {
        // Seed 004's medical-o1 layout: Question / Complex_CoT / Response, rendered later inside <think>.
        String csv = "Question,Complex_CoT,Response\n두통이 있어요.,\"수분 부족, 수면 부족을 먼저 생각한다.\",물을 마시고 쉬어 보세요.\n";
        ReaderOptions cot = ReaderOptions.DEFAULTS.withColumns(Map.of("input", "Question", "reasoning", "Complex_CoT", "output", "Response"));
        Example e = Collected.read(Collected.write(dir, "medical.csv", csv), cot).only();
        assertEquals(List.of(Message.user("두통이 있어요."),
                Message.assistant("물을 마시고 쉬어 보세요.").withReasoning("수분 부족, 수면 부족을 먼저 생각한다.")), e.conversation().messages());
    }
}
