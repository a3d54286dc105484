package jlora.train;

import java.util.Map;

/**
 * One training (or eval) data file. In YAML either a bare path or a mapping; on the command
 * line a comma list of paths.
 *
 * @param path the file; {@code builtin:NAME} names a sample set bundled in the jar
 * @param weight relative share of this file in the mixture: rows are sampled in proportion
 *     to weight x rows (1.0 uses every row once per epoch)
 * @param format how rows read: {@code auto} detects from the first rows (messages,
 *     prompt/completion, instruction/input/output, text, KorQuAD, CSV/TSV/XLSX by extension)
 * @param fields renames: our field name to the file's column or key, e.g.
 *     {user: ko, assistant: en} for a translation sheet or {question: Question, reasoning:
 *     Complex_CoT, answer: Response} for medical-o1-reasoning-SFT; empty means the format's own
 *     names
 */
public record DataFile(String path, double weight, Format format, Map<String, String> fields) {

    /** Row layouts the data readers know (see jlora.data). */
    public enum Format { AUTO, MESSAGES, PROMPT_COMPLETION, INSTRUCTION, INPUT_OUTPUT, TEXT, KORQUAD, CSV, TSV, XLSX }

    public DataFile {
        fields = fields == null ? null : Map.copyOf(fields);
    }

    public static DataFile of(String path) {
        return new DataFile(path, 1.0, Format.AUTO, Map.of());
    }

    static DataFile defaults() {
        return of(null);
    }
}
