package jlora.cli;

import java.io.IOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import jlora.UserError;
import jlora.backend.cpu.CpuBackend;
import jlora.infer.BatchingEngine;
import jlora.infer.ModelChatEngine;
import jlora.model.TinyModel;
import jlora.infer.ChatEngine;
import jlora.serve.ChatServer;
import jlora.serve.ServeConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Serve a model (optionally with a LoRA adapter) over an OpenAI-compatible HTTP API",
                "(/v1/chat/completions, /v1/completions, /v1/models, /health) and a web chat page at /."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model directory (default: the built-in tiny model).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter directory to apply.")
    Path adapter;

    @Option(names = "--host", description = "Address to bind. The default answers only this machine; "
            + "0.0.0.0 exposes the server to the network (set --api-key then).")
    String host = ServeConfig.DEFAULT_HOST;

    @Option(names = "--port", description = "TCP port (0 picks a free one).")
    int port = 8000;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on /v1/*. Default: $JLORA_API_KEY, else none.")
    String apiKey;

    @Option(names = "--max-concurrent", description = "Requests decoded together in one batch (continuous batching: each step runs every weight once for all of them).")
    int maxConcurrent = ServeConfig.defaults().maxConcurrent();

    @Option(names = "--queue", description = "Requests that may wait for a slot; beyond that clients get 429.")
    int queue = ServeConfig.defaults().queueDepth();

    @Option(names = "--max-tokens", description = "Largest max_tokens a request may ask for (and the default).")
    int maxTokens = ServeConfig.defaults().maxTokens();

    @Option(names = "--max-prompt-tokens", description = "Longest prompt, in tokens after the chat template.")
    int maxPromptTokens = ServeConfig.defaults().maxPromptTokens();

    @Override
    public Integer call() throws Exception {
        if (maxConcurrent < 1) throw new UserError("--max-concurrent is " + maxConcurrent + "; give 1 or more");
        if (queue < 0) throw new UserError("--queue is " + queue + "; give 0 or more");
        if (port < 0 || port > 65535) throw new UserError("--port is " + port + "; give 0..65535");
        if (model == null) model = TinyModel.materialize();
        checkDir(model, "--model", "config.json");
        if (adapter != null) checkDir(adapter, "--adapter", "adapter_config.json");
        String key = apiKey != null ? apiKey : System.getenv("JLORA_API_KEY");
        ServeConfig d = ServeConfig.defaults();
        ServeConfig config = new ServeConfig(host, port, key, maxConcurrent, queue, d.maxBodyBytes(), d.maxMessages(),
                maxTokens, maxPromptTokens);
        ChatEngine engine = openEngine(model, adapter, maxConcurrent);
        ChatServer server;
        try {
            server = ChatServer.start(config, engine);
        } catch (BindException e) {
            throw new UserError("cannot listen on " + host + ":" + port + " (" + e.getMessage()
                    + "); pick another --port or stop what uses it");
        } catch (IOException e) {
            throw new UserError("cannot start the server on " + host + ":" + port + ": " + e.getMessage());
        }
        banner(server.url(), engine.modelId(), config).forEach(System.out::println);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown(5000);
            stopped.countDown();
        }, "jlora-serve-shutdown"));
        stopped.await();
        return 0;
    }

    /** The model engine on the CPU, one generation at a time. */
    static ChatEngine openEngine(Path model, Path adapter) {
        return openEngine(model, adapter, 1);
    }

    /**
     * The model engine on the CPU; with {@code maxConcurrent > 1} a {@link BatchingEngine}
     * decodes up to that many requests in one batch (the request queue admits that many).
     */
    static ChatEngine openEngine(Path model, Path adapter, int maxConcurrent) {
        ModelChatEngine engine = ModelChatEngine.load(model, adapter, new CpuBackend());
        return maxConcurrent > 1 ? new BatchingEngine(engine, maxConcurrent) : engine;
    }

    static java.util.List<String> banner(String url, String modelId, ServeConfig config) {
        String auth = config.apiKey() != null ? " -H 'Authorization: Bearer $JLORA_API_KEY'" : "";
        return java.util.List.of(
                "jlora serve: " + modelId + " at " + url + "  (web chat: " + url + "/)",
                "  slots " + config.maxConcurrent() + ", queue " + config.queueDepth()
                        + (config.apiKey() != null ? ", API key required" : ", no API key")
                        + (config.host().equals(ServeConfig.DEFAULT_HOST) ? ", loopback only" : ", bound to " + config.host()),
                "try:",
                "  curl " + url + "/v1/chat/completions -H 'Content-Type: application/json'" + auth
                        + " -d '{\"messages\": [{\"role\": \"user\", \"content\": \"안녕하세요\"}]}'",
                "Ctrl-C stops the server (requests in flight get 5 s to finish).");
    }

    private static void checkDir(Path dir, String option, String expect) {
        if (!Files.isDirectory(dir)) {
            throw new UserError(option + " " + dir + ": no such directory; give the directory that holds " + expect);
        }
        if (!Files.isRegularFile(dir.resolve(expect))) {
            throw new UserError(option + " " + dir + ": no " + expect + " in it; is this the right directory?");
        }
    }
}
