package jlora.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import jlora.UserError;
import jlora.data.Batch;
import jlora.data.Batches;
import jlora.data.DataFiles;
import jlora.data.DataMix;
import jlora.data.DataSource;
import jlora.data.DataSplit;
import jlora.data.ExampleTokenizer;
import jlora.data.FileFormat;
import jlora.data.RecordShape;
import jlora.data.ReaderOptions;
import jlora.data.SampleData;
import jlora.data.TokenizeOptions;
import jlora.data.TokenizedExample;
import jlora.data.ValidationReport;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;

/**
 * The data of a run, read once before training: files read and validated, tokenized with labels,
 * split train / eval by the seed, and cut into micro-batches (packed or length-bucketed). The
 * batch lists are fixed for the run; {@link DataOrder} shuffles their order per epoch.
 *
 * @param train micro-batches of microBatchSize rows
 * @param eval eval micro-batches (empty when there is no eval data)
 * @param trainExamples examples in the train split
 * @param summary lines for the console: rows read, rejected, tokens
 */
public record TrainData(List<Batch> train, List<Batch> eval, int trainExamples, List<String> summary) {

    /** The name under which {@code data.files} refers to the bundled Korean sample set. */
    public static final String BUILTIN_SAMPLE = "builtin:korean-sample";

    public static TrainData load(TrainConfig config, Tokenizer tokenizer, ChatTemplate template) {
        DataSection d = config.data();
        TokenizeOptions options = new TokenizeOptions(
                TokenizeOptions.LossOn.valueOf(d.lossOn().name()),
                TokenizeOptions.Truncation.valueOf(d.truncation().name()),
                config.model().maxSeqLength(), java.util.Map.of());
        if (d.files().isEmpty()) {
            throw new UserError("data.files is empty: pass --data FILES (jsonl, json, csv, tsv, xlsx) or set data.files in the config");
        }
        ExampleTokenizer tok = new ExampleTokenizer(tokenizer, template, options);
        long seed = config.training().seed();
        ValidationReport report = new ValidationReport();
        // Split the rows as read once, then weight only the training part, so up-sampled copies
        // of a row never land on both sides of the split.
        List<DataSource> trainSources = sources(d.files(), d);
        List<DataMix.Row<TokenizedExample>> once = DataMix.readOnce(trainSources, tok.check(), report, tok::take);
        List<TokenizedExample> rows = DataMix.values(once);
        List<TokenizedExample> evalRows = List.of();
        List<TokenizedExample> trainRows = DataMix.weigh(once, trainSources, seed);
        ValidationReport evalReport = null;
        if (!d.evalFiles().isEmpty()) {
            evalReport = new ValidationReport();
            evalRows = DataMix.values(DataMix.readOnce(sources(d.evalFiles(), d), tok.check(), evalReport, tok::take));
        } else if (d.evalSplit() > 0 || d.testSplit() > 0) {
            double[] f = {1 - d.evalSplit() - d.testSplit(), d.evalSplit(), d.testSplit()};
            DataSplit<DataMix.Row<TokenizedExample>> split = DataSplit.of(once, f, seed);
            trainRows = DataMix.weigh(split.train(), trainSources, seed);
            evalRows = DataMix.values(split.eval());
        }
        List<String> summary = new ArrayList<>();
        summary.add(String.format(Locale.ROOT, "data: %d rows read, %d valid (%d rejected)%s", report.rows(), rows.size(),
                report.rows() - rows.size(), evalReport == null ? "" : ", eval files " + evalRows.size() + " valid"));
        if (trainRows.isEmpty()) {
            // One line: the counts by kind, each with its first location; `jlora prepare` shows all.
            String kinds = report.summary().lines().skip(1).map(String::strip).filter(l -> !l.startsWith("..."))
                    .limit(4).reduce((a, b) -> a + "; " + b).orElse("");
            throw new UserError("no valid training example in " + d.files().stream().map(DataFile::path).toList()
                    + " (" + report.rows() + " rows read, " + rows.size() + " valid" + (kinds.isEmpty() ? "" : ": " + kinds)
                    + "); run `jlora prepare --data FILES` for the full validation report");
        }
        int pad = Batches.padId(tokenizer);
        int rowsPerBatch = config.training().microBatchSize();
        int max = config.model().maxSeqLength();
        List<Batch> train = d.packing() ? Batches.packed(trainRows, max, rowsPerBatch, pad, seed)
                : Batches.bucketed(trainRows, rowsPerBatch, pad, seed);
        List<Batch> eval = evalRows.isEmpty() ? List.of() : d.packing() ? Batches.packed(evalRows, max, rowsPerBatch, pad, seed)
                : Batches.bucketed(evalRows, rowsPerBatch, pad, seed);
        long trained = trainRows.stream().mapToLong(TokenizedExample::trainedTokens).sum();
        long tokens = trainRows.stream().mapToLong(TokenizedExample::length).sum();
        summary.add(String.format(Locale.ROOT, "data: train %d examples (%d tokens, %d trained) in %d micro-batches; eval %d examples",
                trainRows.size(), tokens, trained, train.size(), evalRows.size()));
        return new TrainData(train, eval, trainRows.size(), summary);
    }

    /** Config data files to readable sources; {@code builtin:korean-sample} is every bundled file. */
    static List<DataSource> sources(List<DataFile> files, DataSection d) {
        ReaderOptions base = ReaderOptions.DEFAULTS;
        if (d.systemPrompt() != null) base = base.withSystemPrompt(d.systemPrompt());
        List<DataSource> out = new ArrayList<>();
        for (DataFile f : files) {
            ReaderOptions o = f.fields().isEmpty() ? base : base.withColumns(f.fields());
            o = switch (f.format()) {
                case AUTO -> o;
                case CSV -> o.withFileFormat(FileFormat.CSV);
                case TSV -> o.withFileFormat(FileFormat.TSV);
                case XLSX -> o.withFileFormat(FileFormat.XLSX);
                case MESSAGES -> o.withShape(RecordShape.MESSAGES);
                case PROMPT_COMPLETION -> o.withShape(RecordShape.PROMPT_COMPLETION);
                // input/output rows are the instruction shape without an instruction field
                case INSTRUCTION, INPUT_OUTPUT -> o.withShape(RecordShape.INSTRUCTION);
                case TEXT -> o.withShape(RecordShape.TEXT);
                case KORQUAD -> o.withShape(RecordShape.KORQUAD);
            };
            if (f.path().equals(BUILTIN_SAMPLE)) {
                for (String name : SampleData.ALL) out.add(new DataSource(SampleData.path(name), f.weight(), o));
                continue;
            }
            if (f.path().startsWith("builtin:")) {
                throw new UserError("data file '" + f.path() + "': the only bundled data set is " + BUILTIN_SAMPLE);
            }
            Path p = Path.of(f.path());
            if (!Files.exists(p)) throw new UserError("data file " + p + " does not exist; check --data / data.files");
            List<Path> picked = Files.isDirectory(p) ? DataFiles.select(p, d.dataFiles()) : List.of(p);
            for (Path q : picked) out.add(new DataSource(q, f.weight(), o));
        }
        return out;
    }
}
