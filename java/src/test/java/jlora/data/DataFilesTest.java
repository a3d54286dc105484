package jlora.data;

import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The data_files filter (seed 000: data_files = ["kowiki_qa_data.jsonl"]). Oracle: the file names chosen by hand. */
class DataFilesTest {
    @TempDir Path dir;

    @Test
    void globsPickFilesRelativeToTheDirectory() throws Exception {
        for (String f : List.of("kowiki_qa_data.jsonl", "kullm_v2_full_data.jsonl", "orca_math_ko_data.jsonl", "pairs/kor_eng.csv",
                "README.txt", ".cache/old.jsonl")) {
            Collected.write(dir, f, "{}\n");
        }
        assertEquals(List.of(dir.resolve("kowiki_qa_data.jsonl")), DataFiles.select(dir, List.of("kowiki_qa_data.jsonl")));
        assertEquals(List.of(dir.resolve("kowiki_qa_data.jsonl"), dir.resolve("kullm_v2_full_data.jsonl")),
                DataFiles.select(dir, List.of("k*.jsonl")));
        assertEquals(List.of(dir.resolve("pairs/kor_eng.csv")), DataFiles.select(dir, List.of("**.csv")));
        assertEquals(List.of(dir.resolve("kowiki_qa_data.jsonl"), dir.resolve("kullm_v2_full_data.jsonl"),
                        dir.resolve("orca_math_ko_data.jsonl"), dir.resolve("pairs/kor_eng.csv")),
                DataFiles.select(dir, List.of()), "all data files, hidden folders and non-data files left out");
        assertThrows(UserError.class, () -> DataFiles.select(dir, List.of("won_instruct_data.jsonl")));
        assertEquals(List.of(dir.resolve("README.txt")), DataFiles.select(dir.resolve("README.txt"), List.of()), "a file is itself");
    }
}
