package jlora.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Format detection from extensions and first-record keys, and the user's override. Oracle: the formats' documented keys. */
class FormatDetectionTest {
    @TempDir Path dir;

    @Test
    void fileFormatFromExtension() {
        assertEquals(List.of(FileFormat.JSONL, FileFormat.JSONL, FileFormat.JSON, FileFormat.CSV, FileFormat.TSV, FileFormat.XLSX),
                List.of("a.jsonl", "B.NDJSON", "KorQuAD_v1.0_dev.json", "dataset.csv", "x.tsv", "kor_eng.xlsx").stream()
                        .map(n -> FileFormat.fromExtension(Path.of(n))).toList());
        assertThrows(UserError.class, () -> FileFormat.fromExtension(Path.of("data.parquet")));
    }

    @Test
    void recordShapeFromKeys() throws Exception {
        ObjectMapper m = new ObjectMapper();
        record Case(String json, RecordShape shape) {}
        for (Case c : List.of(
                new Case("{\"messages\": [], \"source\": \"s\"}", RecordShape.MESSAGES),
                new Case("{\"conversations\": []}", RecordShape.MESSAGES),
                new Case("{\"messages\": [], \"tools\": []}", RecordShape.MESSAGES),
                new Case("{\"prompt\": \"a\", \"completion\": \"b\"}", RecordShape.PROMPT_COMPLETION),
                new Case("{\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"}", RecordShape.INSTRUCTION),
                new Case("{\"input\": \"a\", \"output\": \"b\", \"source\": \"s\"}", RecordShape.INSTRUCTION),
                new Case("{\"text\": \"a\"}", RecordShape.TEXT),
                new Case("{\"context\": \"c\", \"question\": \"q\", \"answers\": []}", RecordShape.KORQUAD))) {
            assertEquals(c.shape(), RecordShape.detect(m.readTree(c.json())), c.json());
        }
        assertNull(RecordShape.detect(m.readTree("{\"prompt\": \"only\"}")));
    }

    @Test
    void overridesWinOverDetection() throws Exception {
        Path odd = Collected.write(dir, "rows.txt", "{\"text\": \"평문\", \"output\": \"x\", \"input\": \"y\"}\n");
        assertThrows(UserError.class, () -> Collected.read(odd), ".txt has no detectable layout");
        ReaderOptions jsonl = ReaderOptions.DEFAULTS.withFileFormat(FileFormat.JSONL);
        assertEquals(List.of(Message.user("y"), Message.assistant("x")), Collected.read(odd, jsonl).only().conversation().messages());
        assertEquals("평문", Collected.read(odd, jsonl.withShape(RecordShape.TEXT)).only().text());
        assertEquals(RecordShape.INSTRUCTION, RecordShape.parse("alpaca"));
    }

    @Test
    void anUnrecognisableFirstRecordIsReportedAndDetectionMovesOn() throws Exception {
        Collected c = Collected.read(Collected.write(dir, "d.jsonl", "{\"질문\": \"a\"}\n{\"text\": \"b\"}\n"));
        assertEquals(1, c.report().count(Problem.Kind.MISSING_FIELD));
        assertEquals("b", c.only().text());
        assertThrows(UserError.class, () -> Collected.read(Collected.write(dir, "e.jsonl", "{\"질문\": \"a\"}\n")));
    }
}
