package jlora.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import jlora.UserError;
import jlora.data.DataFiles;
import jlora.data.DataMix;
import jlora.data.DataSource;
import jlora.data.DataSplit;
import jlora.data.Example;
import jlora.data.ExampleCheck;
import jlora.data.ExampleJson;
import jlora.data.ExampleTokenizer;
import jlora.data.FileFormat;
import jlora.data.LengthHistogram;
import jlora.data.LengthStats;
import jlora.data.ReaderOptions;
import jlora.data.SampleData;
import jlora.data.TokenizeOptions;
import jlora.data.TokenizedExample;
import jlora.data.ValidationReport;
import jlora.io.AtomicFiles;
import jlora.model.TinyModel;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "prepare", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Validate data files, split them train/eval/test, report token lengths.",
                "Writes to OUT: train.jsonl, eval.jsonl, test.jsonl (the examples as read,",
                "messages format), validation.json, stats.json (token lengths as training",
                "would see them) and lengths.png. Without --data: the bundled Korean sample",
                "set; without --model: the built-in tiny model."})
final class PrepareCommand implements Callable<Integer> {
    static final List<String> OUTPUTS = List.of("train.jsonl", "eval.jsonl", "test.jsonl", "validation.json", "stats.json", "lengths.png");

    @Option(names = "--data", split = ",", paramLabel = "FILE[:WEIGHT]", showDefaultValue = picocli.CommandLine.Help.Visibility.NEVER,
            description = {"Data files or directories (comma-separated or repeated). A :WEIGHT suffix up- or",
                    "down-samples that file, seeded: chat.jsonl:2.5 = every row twice and half once more."})
    List<String> data = new ArrayList<>();

    @Option(names = "--data-files", split = ",", paramLabel = "GLOB",
            description = "Which files of a --data directory to read (globs relative to it, e.g. '**/*.jsonl'; default: all).")
    List<String> dataFiles = new ArrayList<>();

    @Option(names = "--model", paramLabel = "DIR", description = "Model directory whose tokenizer and chat template to use.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Option(names = "--max-seq-length", paramLabel = "N", description = "Tokens per training sequence (TRL's default).")
    int maxSeqLength = 1024;

    @Option(names = "--split", paramLabel = "TRAIN,EVAL,TEST", description = "Split fractions.")
    String split = "0.8,0.1,0.1";

    @Option(names = "--seed", description = "Seed of the split shuffle.")
    long seed = 42;

    @Option(names = "--format", paramLabel = "FORMAT", description = "File layout for every file: jsonl, json, csv, tsv, xlsx (default: from the extension).")
    String format;

    @Option(names = "--loss-on", paramLabel = "WHICH", description = "Trained tokens: assistant, all, last_assistant.")
    String lossOn = "assistant";

    @Option(names = "--truncation", paramLabel = "POLICY", description = "Examples over max-seq-length: drop, or truncate_left (keeps the system prompt).")
    String truncation = "drop";

    @Option(names = "--system-prompt", paramLabel = "TEXT", description = "System turn for conversations that have none.")
    String systemPrompt;

    @Option(names = "--template-var", paramLabel = "KEY=VALUE",
            description = "Extra chat-template variable, e.g. enable_thinking=false (true/false read as booleans).")
    Map<String, String> templateVars = new LinkedHashMap<>();

    @Option(names = "--force", description = "Write into a non-empty OUT directory (replacing these outputs).")
    boolean force;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** An accepted example and its tokens. */
    private record Prepared(Example example, TokenizedExample tokens) {}

    @Override
    public Integer call() {
        if (maxSeqLength < 2) throw new UserError("--max-seq-length " + maxSeqLength + ": must be at least 2");
        double[] fractions = DataSplit.parseFractions(split);
        TokenizeOptions options = new TokenizeOptions(parseEnum(TokenizeOptions.LossOn.class, "--loss-on", lossOn),
                parseEnum(TokenizeOptions.Truncation.class, "--truncation", truncation), maxSeqLength, templateContext());
        checkOut();
        Path modelDir = model != null ? model : TinyModel.materialize();
        if (!Files.isRegularFile(modelDir.resolve("tokenizer.json"))) {
            throw new UserError(modelDir + ": no tokenizer.json; pass --model with a Hugging Face model or tokenizer directory");
        }
        Tokenizer tokenizer = Tokenizer.load(modelDir);
        ExampleTokenizer tokenize = new ExampleTokenizer(tokenizer, ChatTemplate.load(modelDir), options);

        List<Integer> allLengths = new ArrayList<>();  // untruncated, of every row the template could render
        ExampleCheck check = e -> {
            ExampleTokenizer.Outcome o = tokenize.outcome(e);
            if (o.kind() != jlora.data.Problem.Kind.TEMPLATE_ERROR) allLengths.add(o.fullLength());
            return o.rejection();
        };
        ValidationReport report = new ValidationReport();
        List<DataSource> sources = sources();
        List<DataMix.Row<Prepared>> kept = DataMix.readOnce(sources, check, report, e -> new Prepared(e, tokenize.take(e)));

        var stdout = System.out;
        stdout.print(report.summary());
        stdout.print(tokenize.report().summary());
        if (kept.isEmpty()) {
            write("validation.json", json(report.toJson()));
            throw new UserError("no valid example in the data; see " + out.resolve("validation.json") + " for what was wrong");
        }

        // Weights up- or down-sample the training split only: split first, so no row's copies
        // sit on both sides.
        DataSplit<DataMix.Row<Prepared>> parts = DataSplit.of(kept, fractions, seed);
        Map<String, List<Prepared>> named = new LinkedHashMap<>();
        named.put("train", DataMix.weigh(parts.train(), sources, seed));
        named.put("eval", DataMix.values(parts.eval()));
        named.put("test", DataMix.values(parts.test()));

        int[] all = allLengths.stream().mapToInt(Integer::intValue).toArray();
        LengthStats allStats = LengthStats.of(all, maxSeqLength);
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("model", modelDir.toAbsolutePath().normalize().toString());
        stats.put("max_seq_length", maxSeqLength);
        stats.put("loss_on", options.lossOn().name().toLowerCase(Locale.ROOT));
        stats.put("truncation", options.truncation().name().toLowerCase(Locale.ROOT));
        stats.put("seed", seed);
        stats.put("split", List.of(fractions[0], fractions[1], fractions[2]));
        stats.put("all", allStats.toJson());
        stdout.println("token lengths, every valid row before the length check:");
        stdout.println("  all    " + allStats.line());
        stdout.println("token lengths as written (after truncation):");
        // Everything is computed before the first file is written, so a failure leaves OUT as it was.
        Map<String, byte[]> files = new LinkedHashMap<>();
        Map<String, Object> perSplit = new LinkedHashMap<>();
        for (var e : named.entrySet()) {
            List<Prepared> rows = e.getValue();
            files.put(e.getKey() + ".jsonl", utf8(ExampleJson.toJsonLines(rows.stream().map(Prepared::example).toList())));
            LengthStats s = LengthStats.of(rows.stream().mapToInt(p -> p.tokens().length()).toArray(), maxSeqLength);
            Map<String, Object> m = new LinkedHashMap<>(s.toJson());
            m.put("trained_tokens", rows.stream().mapToLong(p -> p.tokens().trainedTokens()).sum());
            m.put("truncated", rows.stream().filter(p -> p.tokens().truncated()).count());
            perSplit.put(e.getKey(), m);
            stdout.printf("  %-6s %s%n", e.getKey(), s.line());
        }
        stats.put("splits", perSplit);
        stats.put("tokenization", tokenize.report().toJson());
        files.put("validation.json", utf8(json(report.toJson())));
        files.put("stats.json", utf8(json(stats)));
        files.put("lengths.png", LengthHistogram.png(all, maxSeqLength, "token lengths"));
        files.forEach((name, bytes) -> AtomicFiles.writeBytes(out.resolve(name), bytes));
        stdout.println("wrote " + String.join(", ", OUTPUTS) + " to " + out.toAbsolutePath().normalize());
        return 0;
    }

    private Map<String, Object> templateContext() {
        Map<String, Object> ctx = new LinkedHashMap<>();
        templateVars.forEach((k, v) -> ctx.put(k, v.equals("true") ? Boolean.TRUE : v.equals("false") ? Boolean.FALSE : v));
        return ctx;
    }

    private List<DataSource> sources() {
        ReaderOptions options = ReaderOptions.DEFAULTS;
        if (format != null) options = options.withFileFormat(FileFormat.parse(format));
        if (systemPrompt != null) options = options.withSystemPrompt(systemPrompt);
        List<DataSource> sources = new ArrayList<>();
        if (data.isEmpty()) {
            for (String name : SampleData.ALL) sources.add(new DataSource(SampleData.path(name), 1.0, options));
            return sources;
        }
        for (String spec : data) {
            WeightedPath w = WeightedPath.parse(spec);
            List<Path> files = Files.isDirectory(w.path()) ? DataFiles.select(w.path(), dataFiles) : List.of(w.path());
            for (Path f : files) sources.add(new DataSource(f, w.weight(), options));
        }
        return sources;
    }

    /**
     * "file", or "file:2.5" — the weight after the last colon when it reads as a number, so paths
     * that themselves contain colons still work when they carry no weight.
     */
    record WeightedPath(Path path, double weight) {
        static WeightedPath parse(String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon > 0 && colon < spec.length() - 1) {
                try {
                    double w = Double.parseDouble(spec.substring(colon + 1));
                    return new WeightedPath(Path.of(spec.substring(0, colon)), w);
                } catch (NumberFormatException notAWeight) {
                    // fall through: the colon is part of the file name
                }
            }
            return new WeightedPath(Path.of(spec), 1.0);
        }
    }

    /** Refuses a non-empty OUT without --force, so a typo never overwrites another run's files. */
    private void checkOut() {
        if (Files.exists(out) && !Files.isDirectory(out)) throw new UserError("--out " + out + " is a file; give a directory");
        if (Files.isDirectory(out) && !force) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new UserError("--out " + out + " is not empty; pass --force to replace its outputs, or choose another directory");
                }
            } catch (IOException e) {
                throw new UserError("--out " + out + ": cannot list (" + e.getMessage() + ")", e);
            }
        }
    }

    private void write(String name, String text) {
        AtomicFiles.writeString(out.resolve(name), text);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String json(Object tree) {
        try {
            return JSON.writeValueAsString(tree) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, String option, String value) {
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            List<String> names = Stream.of(type.getEnumConstants()).map(c -> c.name().toLowerCase(Locale.ROOT)).toList();
            throw new UserError(option + " " + value + ": use one of " + String.join(", ", names));
        }
    }
}
