package jlora.data;

import java.util.Map;

/**
 * How to read one data file. Every field may be null / empty, meaning "detect" or "none".
 *
 * @param fileFormat     the layout; null = from the extension
 * @param shape          the record format; null = from the first record's keys
 * @param columns        for CSV / TSV / XLSX (and renames for JSON): record field -> column
 *                       header, e.g. {@code {input: 원문, output: 번역문}}; unmapped headers keep their names
 * @param defaults       fixed field values for records that lack them, e.g.
 *                       {@code {instruction: "다음 문장을 영어로 번역하세요."}} for a pair sheet
 * @param sheet          XLSX sheet: its name or 1-based index; null = the first sheet
 * @param systemPrompt   a system message put first in chat examples that have none
 * @param questionPrompt KorQuAD user turn, with {@code {context}} and {@code {question}}
 *                       placeholders; null = {@link #DEFAULT_QUESTION_PROMPT}
 * @param source         the source name for every row; null = the row's {@code source} field, else the file name
 */
public record ReaderOptions(FileFormat fileFormat, RecordShape shape, Map<String, String> columns,
                            Map<String, String> defaults, String sheet, String systemPrompt,
                            String questionPrompt, String source) {

    public static final String DEFAULT_QUESTION_PROMPT = "{context}\n\n질문: {question}";
    public static final ReaderOptions DEFAULTS = new ReaderOptions(null, null, null, null, null, null, null, null);

    public ReaderOptions {
        columns = columns == null ? Map.of() : Map.copyOf(columns);
        defaults = defaults == null ? Map.of() : Map.copyOf(defaults);
        if (questionPrompt == null) questionPrompt = DEFAULT_QUESTION_PROMPT;
    }

    public ReaderOptions withFileFormat(FileFormat f) { return new ReaderOptions(f, shape, columns, defaults, sheet, systemPrompt, questionPrompt, source); }
    public ReaderOptions withShape(RecordShape s) { return new ReaderOptions(fileFormat, s, columns, defaults, sheet, systemPrompt, questionPrompt, source); }
    public ReaderOptions withColumns(Map<String, String> c) { return new ReaderOptions(fileFormat, shape, c, defaults, sheet, systemPrompt, questionPrompt, source); }
    public ReaderOptions withDefaults(Map<String, String> d) { return new ReaderOptions(fileFormat, shape, columns, d, sheet, systemPrompt, questionPrompt, source); }
    public ReaderOptions withSheet(String s) { return new ReaderOptions(fileFormat, shape, columns, defaults, s, systemPrompt, questionPrompt, source); }
    public ReaderOptions withSystemPrompt(String s) { return new ReaderOptions(fileFormat, shape, columns, defaults, sheet, s, questionPrompt, source); }
    public ReaderOptions withQuestionPrompt(String q) { return new ReaderOptions(fileFormat, shape, columns, defaults, sheet, systemPrompt, q, source); }
    public ReaderOptions withSource(String s) { return new ReaderOptions(fileFormat, shape, columns, defaults, sheet, systemPrompt, questionPrompt, s); }
}
