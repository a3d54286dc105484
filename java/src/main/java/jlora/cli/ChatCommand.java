package jlora.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import jlora.UserError;
import jlora.backend.cpu.CpuBackend;
import jlora.infer.GenerationDefaults;
import jlora.infer.ModelChatEngine;
import jlora.infer.SamplingParams;
import jlora.model.TinyModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "chat", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Chat with a model in the terminal, streaming the reply as it is generated.",
                "Type /reset to clear the history, /system TEXT to set the system prompt, /exit to quit.",
                "With --prompt it answers once and exits. Without --model it uses the built-in tiny model."})
final class ChatCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR", description = "Hugging Face model directory (base or merged).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter to apply unmerged (a run's final/).")
    Path adapter;

    @Option(names = "--system", paramLabel = "TEXT", description = "System prompt.")
    String system;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "Answer this one message and exit.")
    String prompt;

    // Unset sampling options come from the model's generation_config.json (GenerationDefaults).

    @Option(names = "--temperature", description = "Sampling temperature; 0 is greedy."
            + " Default: the model's generation_config.json (greedy without do_sample).")
    Double temperature;

    @Option(names = "--top-p", description = "Nucleus sampling: keep the most likely tokens up to this much probability."
            + " Default: generation_config.json, else 1.")
    Double topP;

    @Option(names = "--top-k", description = "Keep the k most likely tokens (0: off)."
            + " Default: generation_config.json, else 50.")
    Integer topK;

    @Option(names = "--min-p", description = "Drop tokens below this fraction of the top token's probability (0: off)."
            + " Default: generation_config.json, else 0.")
    Double minP;

    @Option(names = "--repetition-penalty", description = "Penalty for tokens already in the context (1: none)."
            + " Default: generation_config.json, else 1.")
    Double repetitionPenalty;

    @Option(names = "--max-new-tokens", description = "Most tokens per reply."
            + " Default: generation_config.json, else 512.")
    Integer maxNewTokens;

    @Option(names = "--seed", description = "Sampling seed, for replies that repeat (default: random).")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop the reply at this text (repeatable).")
    List<String> stop = List.of();

    @Override
    public Integer call() throws Exception {
        if (adapter != null && model == null) {
            throw new UserError("--adapter needs --model: give the base model directory the adapter was trained on");
        }
        Path dir = model != null ? model : TinyModel.materialize();
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not a directory; pass a Hugging Face model directory to --model");
        if (adapter != null && !Files.isDirectory(adapter)) {
            throw new UserError(adapter + ": not a directory; pass a PEFT adapter directory (adapter_config.json) to --adapter");
        }
        PrintStream out = System.out;
        try (ModelChatEngine engine = ModelChatEngine.load(dir, adapter, new CpuBackend())) {
            SamplingParams sampling = sampling(engine.generationDefaults());
            ChatSession session = new ChatSession(engine, sampling, system, out);
            if (prompt != null) {
                session.turn(prompt);
                return 0;
            }
            out.println("jlora chat: " + engine.modelId() + (model == null ? " (built-in tiny model)" : "")
                    + ". /reset, /system TEXT, /exit");
            onCtrlC(() -> {
                if (!session.interrupt()) System.exit(130);
            });
            session.loop(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
            return 0;
        }
    }

    /**
     * Ctrl-C stops the reply instead of the program while one is generated. sun.misc.Signal
     * (module jdk.unsupported) is the JDK's only hook for SIGINT; where it is missing Ctrl-C
     * keeps its default meaning.
     */
    @SuppressWarnings("removal")
    private static void onCtrlC(Runnable action) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> action.run());
        } catch (IllegalArgumentException | LinkageError e) {
            // no SIGINT on this platform or no jdk.unsupported: Ctrl-C ends the program
        }
    }

    /** Given options over the model's defaults; a temperature given turns sampling on. */
    SamplingParams sampling(GenerationDefaults d) {
        double t = temperature != null ? temperature : d.doSample() ? d.temperature() : 0;
        return new SamplingParams(t, topP != null ? topP : d.topP(), topK != null ? topK : d.topK(),
                minP != null ? minP : d.minP(), repetitionPenalty != null ? repetitionPenalty : d.repetitionPenalty(),
                seed, maxNewTokens != null ? maxNewTokens : d.maxNewTokens(), stop);
    }
}
