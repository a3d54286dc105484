package jlora.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Bounded load driver (not a unit test): N streaming clients for T seconds against a server on
 * loopback whose engine is the {@link ScriptedEngine} test double, so the figures measure the
 * server (HTTP, JSON, SSE, queue), not a model. Every reply is checked against
 * {@link ScriptedEngine#replyTo} of its own unique question and every chunk against its
 * response's id: a lost, truncated or mixed-up reply counts as an error.
 *
 * <p>Run: bench/serve-load.sh [clients] [seconds] [slots] [token-delay-ms]. Prints Markdown.
 */
public final class ServeLoad {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Sample(double ttftMs, double totalMs, int tokens, boolean ok, String problem) {
    }

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int slots = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        long delay = args.length > 3 ? Long.parseLong(args[3]) : 0;
        ScriptedEngine engine = new ScriptedEngine(delay);
        List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        AtomicLong refused = new AtomicLong();
        long t0;
        double elapsed;
        try (ChatServer s = ChatServer.start(ServeConfig.defaults().withPort(0).withQueue(slots, clients), engine);
             ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            warmUp(http, s);
            t0 = System.nanoTime();
            long end = t0 + seconds * 1_000_000_000L;
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                fs.add(pool.submit(() -> {
                    for (int k = 0; System.nanoTime() < end; k++) {
                        Sample sm = one(http, s, "손님 " + client + " 질문 " + k);
                        if (sm.problem != null && sm.problem.startsWith("429")) refused.incrementAndGet();
                        else samples.add(sm);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
            elapsed = (System.nanoTime() - t0) / 1e9;
        }
        report(clients, seconds, slots, delay, elapsed, samples, refused.get());
    }

    private static void warmUp(HttpClient http, ChatServer s) throws Exception {
        for (int i = 0; i < 200; i++) one(http, s, "warm " + i);
    }

    private static Sample one(HttpClient http, ChatServer s, String ask) {
        long start = System.nanoTime();
        try {
            String body = "{\"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": " + JSON.writeValueAsString(ask) + "}]}";
            HttpRequest req = HttpRequest.newBuilder(URI.create(s.url() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
            HttpResponse<Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
            if (r.statusCode() != 200) {
                r.body().close();
                return new Sample(0, 0, 0, false, r.statusCode() + "");
            }
            double ttft = -1;
            String id = null;
            boolean done = false;
            int tokens = 0;
            StringBuilder text = new StringBuilder();
            Iterator<String> lines = r.body().iterator();
            while (lines.hasNext()) {
                String line = lines.next();
                if (!line.startsWith("data: ")) continue;
                String data = line.substring(6);
                if (data.equals("[DONE]")) {
                    done = true;
                    continue;
                }
                JsonNode chunk = JSON.readTree(data);
                if (id == null) id = chunk.get("id").asText();
                if (!id.equals(chunk.get("id").asText())) return new Sample(0, 0, 0, false, "mixed ids");
                JsonNode content = chunk.path("choices").path(0).path("delta").get("content");
                if (content != null && !content.asText().isEmpty()) {
                    if (ttft < 0) ttft = (System.nanoTime() - start) / 1e6;
                    text.append(content.asText());
                    tokens++;
                }
            }
            double total = (System.nanoTime() - start) / 1e6;
            if (!done) return new Sample(ttft, total, tokens, false, "no [DONE]");
            if (!text.toString().equals(ScriptedEngine.replyTo(ask))) return new Sample(ttft, total, tokens, false, "wrong reply");
            return new Sample(ttft, total, tokens, true, null);
        } catch (Exception e) {
            return new Sample(0, 0, 0, false, e.toString());
        }
    }

    private static void report(int clients, int seconds, int slots, long delay, double elapsed, List<Sample> samples, long refused) {
        List<Sample> ok = samples.stream().filter(Sample::ok).toList();
        List<String> problems = samples.stream().filter(x -> !x.ok).map(Sample::problem).distinct().limit(5).toList();
        double[] ttft = ok.stream().mapToDouble(Sample::ttftMs).sorted().toArray();
        double[] total = ok.stream().mapToDouble(Sample::totalMs).sorted().toArray();
        long tokens = ok.stream().mapToLong(Sample::tokens).sum();
        System.out.printf("| %s | %d | %d s | %d | %d ms | %d | %.0f | %.2f / %.2f / %.2f | %.2f / %.2f | %.0f | %d | %d |%n",
                LocalDate.now(), clients, seconds, slots, delay, ok.size(), ok.size() / elapsed,
                pct(ttft, 50), pct(ttft, 99), pct(ttft, 100), pct(total, 50), pct(total, 99),
                tokens / elapsed, samples.size() - ok.size(), refused);
        if (!problems.isEmpty()) System.out.println("problems: " + problems);
    }

    private static double pct(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
