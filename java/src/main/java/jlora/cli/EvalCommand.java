package jlora.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import jlora.UserError;
import jlora.backend.cpu.CpuBackend;
import jlora.infer.ModelChatEngine;
import jlora.backend.Backend;
import jlora.backend.cpu.CpuBackend;
import jlora.data.DataFile;
import jlora.data.DataFiles;
import jlora.data.Example;
import jlora.data.ExampleCheck;
import jlora.data.ExampleTokenizer;
import jlora.data.ReaderOptions;
import jlora.data.SampleData;
import jlora.data.TokenizeOptions;
import jlora.data.ValidationReport;
import jlora.eval.CausalLmLoss;
import jlora.eval.CompareChart;
import jlora.eval.EvalItem;
import jlora.eval.EvalLoss;
import jlora.eval.EvalReport;
import jlora.eval.Evaluator;
import jlora.eval.ToolSchema;
import jlora.infer.ChatEngine;
import jlora.infer.SamplingParams;
import jlora.io.AtomicFiles;
import jlora.nn.CausalLM;
import jlora.nn.LoadOptions;
import jlora.tokenizer.ChatTemplate;
import jlora.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Evaluate a model (and, with --compare-base, its base beside it).",
                "QA rows: exact match, contains, character F1 (KorQuAD v1). Tool rows:",
                "tool_name_accuracy, parameter_accuracy, json_validity_rate,",
                "hallucination_rate. Every example: eval loss and perplexity. Also latency",
                "mean/p50/p95, tokens/s and peak JVM heap. Writes to OUT: eval_report.json,",
                "summary.txt (the table printed) and, with --compare-base, base_report.json",
                "and compare.png. Without --data: the bundled Korean sample set.",
                "Generation is greedy."})
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (base, or merged tuned model).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter directory applied on --model.")
    Path adapter;

    @Option(names = "--base", paramLabel = "DIR", description = "Base model for --compare-base when --model is a merged model (default: --model without the adapter).")
    Path base;

    @Option(names = "--data", split = ",", paramLabel = "FILES", showDefaultValue = picocli.CommandLine.Help.Visibility.NEVER,
            description = "Eval data files or directories (comma-separated or repeated), e.g. prepare's test.jsonl.")
    List<Path> data = new ArrayList<>();

    @Option(names = "--tools-schema", paramLabel = "FILE", description = "JSON list of the tools every tool turn is offered and judged against (default: each example's own tools).")
    Path toolsSchema;

    @Option(names = "--qa-sources", split = ",", paramLabel = "NAMES", showDefaultValue = picocli.CommandLine.Help.Visibility.NEVER,
            description = "Sources whose single-turn rows are QA (scored by exact match / F1), or 'all'. "
                    + "Default: sources whose name mentions qa or korquad (KorQuAD rows carry their file name).")
    List<String> qaSources = new ArrayList<>();

    @Option(names = "--max-samples", paramLabel = "N", description = "Examples to evaluate, taken from the files in turn (0: all).")
    int maxSamples = 0;

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "Generation limit per turn.")
    int maxNewTokens = 256;

    @Option(names = "--max-seq-length", paramLabel = "N", description = "Longest example scored for eval loss; longer ones are skipped and counted.")
    int maxSeqLength = 2048;

    @Option(names = "--warmup", paramLabel = "N", description = "Untimed requests per model before the measured ones (JIT compilation stays out of the latencies).")
    int warmUp = 3;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory.")
    Path out = Path.of("eval");

    @Option(names = "--compare-base", description = "Also evaluate the base model and print one before/after table and chart.")
    boolean compareBase;

    private final BiFunction<Path, Path, ChatEngine> engines;

    public EvalCommand() {
        this(EvalCommand::engineFor);
    }

    /** With another engine factory: tests give a scripted engine. */
    EvalCommand(BiFunction<Path, Path, ChatEngine> engines) {
        this.engines = engines;
    }

    /**
     * The generation engine for a model directory and an optional adapter: the one place that
     * names the implementation.
     */
    static ChatEngine engineFor(Path modelDir, Path adapterDir) {
        return ModelChatEngine.load(modelDir, adapterDir, new CpuBackend());
    }

    @Override
    public Integer call() {
        if (maxSamples < 0) throw new UserError("--max-samples " + maxSamples + ": give 0 (all) or a positive count");
        if (warmUp < 0) throw new UserError("--warmup " + warmUp + ": give 0 or more requests");
        if (maxNewTokens < 1) throw new UserError("--max-new-tokens " + maxNewTokens + ": must be at least 1");
        if (compareBase && adapter == null && base == null) {
            throw new UserError("--compare-base needs --adapter (the tuned model is --model plus it) or --base DIR "
                    + "(when --model is a merged tuned model)");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) throw new UserError("--out " + out + " is a file; give a directory");
        ToolSchema schema = toolsSchema == null ? null : ToolSchema.load(toolsSchema);
        List<Example> examples = examples();
        if (examples.isEmpty()) throw new UserError("no valid example in the eval data; check it with `jlora prepare`");
        System.out.println("evaluating " + examples.size() + " examples");

        EvalReport tuned = evaluate(model, adapter, examples, schema);
        EvalReport baseReport = null;
        if (compareBase) baseReport = evaluate(base != null ? base : model, null, examples, schema);

        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("eval_report.json", utf8(tuned.toJson()));
        String table;
        if (baseReport != null) {
            files.put("base_report.json", utf8(baseReport.toJson()));
            files.put("compare.png", CompareChart.png(baseReport, tuned));
            table = EvalReport.compare(baseReport, tuned);
        } else {
            table = tuned.summary();
        }
        files.put("summary.txt", utf8(table));
        files.forEach((name, bytes) -> AtomicFiles.writeBytes(out.resolve(name), bytes));
        System.out.print(table);
        System.out.println("wrote " + String.join(", ", files.keySet()) + " to " + out.toAbsolutePath().normalize());
        return 0;
    }

    /**
     * Loss first with the model loaded for it, closed before the generation engine loads, so
     * only one copy of the weights is in memory at a time.
     */
    private EvalReport evaluate(Path modelDir, Path adapterDir, List<Example> examples, ToolSchema schema) {
        String label = adapterDir == null ? modelDir.toString() : modelDir + " + " + adapterDir;
        System.out.println("model " + label);
        Backend backend = new CpuBackend();
        LoadOptions load = adapterDir == null ? LoadOptions.DEFAULT : LoadOptions.DEFAULT.withAdapter(adapterDir);
        EvalLoss loss;
        try (CausalLM lm = CausalLM.load(modelDir, backend, load)) {
            // As ModelChatEngine does: an adapter directory that carries a tokenizer (a jlora run's final/) supplies it.
            Path tokDir = adapterDir != null && Files.isRegularFile(adapterDir.resolve("tokenizer.json")) ? adapterDir : modelDir;
            ExampleTokenizer tokenize = new ExampleTokenizer(Tokenizer.load(tokDir), ChatTemplate.load(tokDir),
                    TokenizeOptions.defaults(maxSeqLength));
            loss = EvalLoss.compute(examples, new CausalLmLoss(lm, backend), tokenize);
        }
        ChatEngine engine = engines.apply(modelDir, adapterDir);
        try {
            SamplingParams greedy = new SamplingParams(0, 1, 0, 0, 1, null, maxNewTokens, List.of());
            Evaluator evaluator = new Evaluator(engine, loss, schema, greedy, qaSource(), warmUp);
            // On a terminal a counter redrawn in place; in a log or pipe nothing until the table.
            var console = System.console();
            boolean tty = console != null && console.isTerminal();
            EvalReport report = evaluator.run(examples, tty ? p -> System.err.print("\r  evaluated " + p) : null);
            if (tty) System.err.println();
            return report;
        } finally {
            if (engine instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing the engine", e);
                }
            }
        }
    }

    private Predicate<String> qaSource() {
        if (qaSources.isEmpty()) return EvalItem.QA_SOURCE;
        if (qaSources.size() == 1 && qaSources.getFirst().equals("all")) return s -> true;
        Set<String> names = Set.copyOf(qaSources);
        return names::contains;
    }

    /** The files' valid examples, taken in turn from each file so a cap keeps every kind. */
    private List<Example> examples() {
        List<Path> files = new ArrayList<>();
        if (data.isEmpty()) {
            for (String name : SampleData.ALL) files.add(SampleData.path(name));
        } else {
            for (Path p : data) {
                if (!Files.exists(p)) throw new UserError("--data " + p + ": no such file or directory");
                files.addAll(Files.isDirectory(p) ? DataFiles.select(p, List.of()) : List.of(p));
            }
        }
        ValidationReport report = new ValidationReport();
        List<List<Example>> perFile = new ArrayList<>();
        for (Path f : files) {
            List<Example> list = new ArrayList<>();
            DataFile.read(f, ReaderOptions.DEFAULTS, ExampleCheck.NONE, report, list::add);
            perFile.add(list);
        }
        if (report.invalid() > 0) System.out.print(report.summary());
        List<Example> out = new ArrayList<>();
        int limit = maxSamples == 0 ? Integer.MAX_VALUE : maxSamples;
        for (int i = 0; out.size() < limit; i++) {
            boolean any = false;
            for (List<Example> list : perFile) {
                if (i < list.size() && out.size() < limit) {
                    out.add(list.get(i));
                    any = true;
                }
            }
            if (!any) break;
        }
        return out;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
