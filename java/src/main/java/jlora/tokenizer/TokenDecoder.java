package jlora.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The "decoder" block of tokenizer.json: a chain from token strings to text pieces. */
sealed interface TokenDecoder {
    List<String> decode(List<String> tokens);

    /** Byte-level chars back to bytes, then UTF-8 (invalid bytes become U+FFFD); added tokens pass as they are. */
    record ByteLevelDecode(Set<String> addedTokens) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>();
            byte[] buf = new byte[64];
            int n = 0;
            for (String t : tokens) {
                if (addedTokens.contains(t)) {
                    if (n > 0) out.add(new String(buf, 0, n, StandardCharsets.UTF_8));
                    n = 0;
                    out.add(t);
                    continue;
                }
                for (int i = 0; i < t.length(); i++) {
                    if (n == buf.length) buf = java.util.Arrays.copyOf(buf, n * 2);
                    int b = ByteLevel.byteOf(t.charAt(i));
                    // A char outside the byte map (not produced by byte-level BPE) decodes as U+FFFD.
                    buf[n++] = (byte) (b < 0 ? 0xFF : b);
                }
            }
            if (n > 0) out.add(new String(buf, 0, n, StandardCharsets.UTF_8));
            return out;
        }
    }

    record Replace(String pattern, String content) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) out.add(t.replace(pattern, content));
            return out;
        }
    }

    /** Runs of <0xXX> tokens become the UTF-8 text of their bytes. */
    record ByteFallback() implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            byte[] buf = new byte[16];
            int n = 0;
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) {
                    if (n == buf.length) buf = java.util.Arrays.copyOf(buf, n * 2);
                    buf[n++] = (byte) b;
                    continue;
                }
                if (n > 0) out.add(new String(buf, 0, n, StandardCharsets.UTF_8));
                n = 0;
                out.add(t);
            }
            if (n > 0) out.add(new String(buf, 0, n, StandardCharsets.UTF_8));
            return out;
        }

        static int byteToken(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
            int hi = Character.digit(t.charAt(3), 16);
            int lo = Character.digit(t.charAt(4), 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }
    }

    record Fuse() implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing copies of one char per token. */
    record Strip(char content, int start, int stop) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int a = 0;
                while (a < start && a < t.length() && t.charAt(a) == content) a++;
                int z = t.length();
                for (int i = 0; i < stop && z > a && t.charAt(z - 1) == content; i++) z--;
                out.add(t.substring(a, z));
            }
            return out;
        }
    }

    /** Replacement char back to space; the first token loses one leading space if a prefix was added. */
    record Metaspace(char replacement, boolean addPrefixSpace) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i).replace(replacement, ' ');
                if (addPrefixSpace && i == 0 && t.startsWith(" ")) t = t.substring(1);
                out.add(t);
            }
            return out;
        }
    }

    record Sequence(List<TokenDecoder> steps) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            for (TokenDecoder d : steps) tokens = d.decode(tokens);
            return tokens;
        }
    }
}
