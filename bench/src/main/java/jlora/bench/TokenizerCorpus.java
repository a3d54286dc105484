package jlora.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The Korean-heavy encode corpora, built deterministically so the Java benchmark and the node
 * peers (bench/node/tokenizer-encode.mjs, which reads the files {@link #main} writes) encode
 * the same text. One line = one document.
 * <ul>
 *   <li>{@code mixed}: lines of bench/corpus/korean-mixed.txt (Korean prose, chat, code, JSON,
 *       numbers, emoji) in seeded random order up to ~1 MB; words repeat, as in real data,
 *       so word caches are warm.</li>
 *   <li>{@code hangul-random}: random Hangul syllable words (1–4 syllables) with spaces,
 *       punctuation and digits; almost no word repeats, so every word goes through BPE.</li>
 * </ul>
 */
public final class TokenizerCorpus {
    static final int TARGET_BYTES = 1 << 20;

    private TokenizerCorpus() {}

    static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("tools/oracle"))) return p;
            p = p.getParent();
        }
        throw new IllegalStateException("run from inside the jlora checkout (tools/oracle not found above " + Path.of("").toAbsolutePath() + ")");
    }

    static List<String> build(String name) throws IOException {
        SplittableRandom rnd = new SplittableRandom(20251124L);
        List<String> docs = new ArrayList<>();
        long bytes = 0;
        if (name.equals("mixed")) {
            List<String> lines = Files.readAllLines(root().resolve("bench/corpus/korean-mixed.txt"));
            while (bytes < TARGET_BYTES) {
                String l = lines.get(rnd.nextInt(lines.size()));
                docs.add(l);
                bytes += l.getBytes(StandardCharsets.UTF_8).length + 1;
            }
        } else if (name.equals("hangul-random")) {
            String punct = ".,!?~";
            while (bytes < TARGET_BYTES) {
                StringBuilder sb = new StringBuilder();
                int words = 5 + rnd.nextInt(20);
                for (int w = 0; w < words; w++) {
                    if (w > 0) sb.append(' ');
                    int syl = 1 + rnd.nextInt(4);
                    for (int k = 0; k < syl; k++) sb.append((char) (0xAC00 + rnd.nextInt(11172)));
                    int r = rnd.nextInt(10);
                    if (r == 0) sb.append(punct.charAt(rnd.nextInt(punct.length())));
                    else if (r == 1) sb.append(' ').append(rnd.nextInt(10000));
                }
                docs.add(sb.toString());
                bytes += sb.toString().getBytes(StandardCharsets.UTF_8).length + 1;
            }
        } else {
            throw new IllegalArgumentException("corpus " + name + ": expected mixed or hangul-random");
        }
        return docs;
    }

    static long utf8Bytes(List<String> docs) {
        long n = 0;
        for (String d : docs) n += d.getBytes(StandardCharsets.UTF_8).length + 1;
        return n;
    }

    /** Writes bench/target/tokenizer-corpus-NAME.txt for the node peers. */
    public static void main(String[] args) throws IOException {
        for (String name : List.of("mixed", "hangul-random")) {
            Path out = root().resolve("bench/target/tokenizer-corpus-" + name + ".txt");
            Files.createDirectories(out.getParent());
            Files.writeString(out, String.join("\n", build(name)) + "\n");
            System.out.println(out + " " + Files.size(out) + " bytes");
        }
    }
}
