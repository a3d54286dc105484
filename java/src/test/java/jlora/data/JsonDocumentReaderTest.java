package jlora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * .json documents as datasets.load_dataset("json") and the seed projects write them. Oracle:
 * the records and KorQuAD questions written by hand in each fixture.
 */
class JsonDocumentReaderTest {
    @TempDir Path dir;

    @Test
    void arrayOfRecordsAsTheKorQuadTutorialWritesIt() throws Exception {
        // Seed 003 dumps a list of {"text": ...} with indent=2.
        String json = "[\n  {\n    \"text\": \"### Instruction: 질문1 ### Response: 답1\"\n  },\n  {\n    \"text\": \"### Instruction: 질문2 ### Response: 답2\"\n  }\n]\n";
        Collected c = Collected.read(Collected.write(dir, "korquad_tutorial.json", json));
        assertEquals(List.of("### Instruction: 질문1 ### Response: 답1", "### Instruction: 질문2 ### Response: 답2"),
                c.examples().stream().map(Example::text).toList());
        assertEquals(List.of(2L, 5L), c.examples().stream().map(Example::line).toList(), "each record's line is where its { is");
    }

    @Test
    void dataWrapperOfRecordsAndJsonLinesSavedAsJson() throws Exception {
        Collected wrapped = Collected.read(Collected.write(dir, "w.json",
                "{\"version\":\"1\",\"data\":[{\"input\":\"가\",\"output\":\"나\"},{\"input\":\"다\",\"output\":\"라\"}]}"));
        assertEquals(2, wrapped.examples().size(), wrapped.report().summary());
        Collected lines = Collected.read(Collected.write(dir, "l.json",
                "{\"input\":\"가\",\"output\":\"나\"}\n{\"input\":\"다\",\"output\":\"라\"}\n"));
        assertEquals(List.of(1L, 2L), lines.examples().stream().map(Example::line).toList());
        assertEquals(Message.user("다"), lines.examples().get(1).conversation().messages().getFirst());
    }

    @Test
    void korQuadOneConversationPerQuestionWithConfigurablePrompt() throws Exception {
        String json = """
                {"version": "KorQuAD_v1.0_dev", "data": [
                  {"title": "한강", "paragraphs": [
                    {"context": "한강은 서울을 가로지르는 강이다.", "qas": [
                      {"question": "서울을 가로지르는 강은?", "id": "q1", "answers": [{"text": "한강", "answer_start": 0}]},
                      {"question": "한강은 어디를 가로지르는가?", "id": "q2", "answers": [{"text": "서울", "answer_start": 4}]}]}]},
                  {"title": "달", "paragraphs": [
                    {"context": "달은 지구의 위성이다.", "qas": [
                      {"question": "달은 무엇의 위성인가?", "id": "q3", "answers": [{"text": "지구", "answer_start": 3}]}]}]}]}
                """;
        Path file = Collected.write(dir, "KorQuAD_v1.0_dev.json", json);
        Collected c = Collected.read(file);
        assertEquals(3, c.examples().size(), c.report().summary());
        assertEquals(List.of(Message.user("한강은 서울을 가로지르는 강이다.\n\n질문: 서울을 가로지르는 강은?"), Message.assistant("한강")),
                c.examples().get(0).conversation().messages());
        assertEquals(List.of(2L, 2L, 6L), c.examples().stream().map(Example::line).toList(), "a question's line is its article's");

        String seedShape = "Below is an instruction that describes a task. Write a response that appropriately completes the request. "
                + "### Instruction: {question} ### Response: ";
        Collected custom = Collected.read(file, ReaderOptions.DEFAULTS.withQuestionPrompt(seedShape));
        assertEquals(Message.user(seedShape.replace("{question}", "달은 무엇의 위성인가?")),
                custom.examples().get(2).conversation().messages().getFirst());
    }

    @Test
    void syntaxErrorEndsTheDocumentWithLineAndColumn() throws Exception {
        Collected c = Collected.read(Collected.write(dir, "bad.json",
                "[\n{\"text\": \"좋음\"},\n{\"text\": \"나쁨\" \"x\"},\n{\"text\": \"못 읽음\"}\n]"));
        assertEquals(1, c.examples().size());
        Problem p = c.report().firstProblems(Problem.Kind.MALFORMED_JSON).getFirst();
        assertEquals(3, p.line());
        assertEquals(15, p.column(), "column in characters, not UTF-8 bytes: " + p);
    }
}
