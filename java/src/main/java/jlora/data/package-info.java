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
 *
 * <p>Examples to training input: {@link jlora.data.ExampleTokenizer} renders with the chat
 * template, tokenizes with offsets and labels ({@link jlora.data.LabelMasker}), enforcing
 * max_seq_length by drop or left truncation; its {@code check()} is the reader's
 * {@link jlora.data.ExampleCheck}, so rejections are counted as TOO_LONG:
 * <pre>
 *   var tok = new ExampleTokenizer(tokenizer, template, options);
 *   DataMix.read(sources, seed, tok.check(), report, e -> examples.add(tok.take(e)));
 *   List&lt;Batch&gt; batches = Batches.packed(examples, maxSeqLength, rows, Batches.padId(tokenizer), seed);
 * </pre>
 * {@link jlora.data.Batches} packs (first-fit decreasing, {@link jlora.data.Packing}) or pads
 * length-bucketed rows; {@link jlora.data.DataSplit}, {@link jlora.data.LengthStats} and
 * {@link jlora.data.LengthHistogram} serve {@code jlora prepare}.
 */
package jlora.data;
