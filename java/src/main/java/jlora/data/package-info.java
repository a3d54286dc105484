/**
 * Data files to {@link jlora.data.Example}s: readers, format detection, validation, mixing.
 *
 * <p>Layouts ({@link jlora.data.FileFormat}, from the extension): JSON Lines, JSON documents
 * (array, {@code {"data": [...]}}, KorQuAD v1), CSV / TSV (RFC 4180) and XLSX. Record formats
 * ({@link jlora.data.RecordShape}, from the first record's keys):
 * <pre>
 *   messages            {"messages": [{"role", "content", "tool_calls", ...}], "tools": [...], "source": ...}
 *                       (TRL conversational + tool calling; ShareGPT "conversations" with from/value)
 *   prompt_completion   {"prompt": str, "completion": str}        plain text, loss on the completion
 *                       {"prompt": [msgs], "completion": [msgs]}  chat
 *   instruction         {"instruction", "input", "output"} (Alpaca) or {"input", "output"};
 *                       optional "system" and "reasoning" (the assistant's thinking)
 *   text                {"text": str}                              plain language-model text
 *   korquad             data[].paragraphs[].context + qas[].question -> answers[0].text, one
 *                       conversation per question, user turn from a {context}/{question} template
 * </pre>
 * Tables map columns to these field names ({@link jlora.data.ReaderOptions#columns()}) and may
 * add fixed values ({@link jlora.data.ReaderOptions#defaults()}), e.g. a Korean–English pair sheet:
 * columns {@code input=원문, output=번역문}, default {@code instruction=다음 문장을 영어로 번역하세요.}
 *
 * <p>Every bad row is counted in a {@link jlora.data.ValidationReport} and reading goes on;
 * {@link jlora.data.DataMix} mixes files with weights, {@link jlora.data.DataFiles} is the
 * data_files filter, {@link jlora.data.SampleData} the bundled Korean sample set.
 */
package jlora.data;
