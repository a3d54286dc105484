package jlora.io;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import jlora.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Property: whatever the bytes, {@link SafetensorsFile#open} either succeeds (and then every
 * tensor view lies inside the file and can be read) or throws {@link UserError}. Any other
 * throwable, an OOM or a hang fails the test. Inputs are random bytes and mutations of valid
 * files: bit flips in the header and in the length field, truncations, extensions, lying header
 * lengths, and JSON edits (negative / huge / fractional numbers, duplicate keys, bad dtypes,
 * overlapping offsets, deep nesting). The timeout is a hang guard, not a performance check.
 */
class SafetensorsFuzzTest {
    private static final int CASES = 3000;
    private static final DType[] TYPES = Arrays.stream(DType.values()).filter(d -> d != DType.NF4).toArray(DType[]::new);

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void randomAndMutatedFilesOpenOrFailWithUserError() throws IOException {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        int opened = 0;
        Map<String, Integer> reasons = new java.util.TreeMap<>();
        for (int c = 0; c < CASES; c++) {
            int kind = rnd.nextInt(11);
            byte[] bytes = switch (kind) {
                case 0 -> randomBytes(rnd);
                case 1 -> flipBits(rnd, valid(rnd), true);
                case 2 -> flipLengthBits(rnd, valid(rnd));
                case 3 -> truncate(rnd, valid(rnd));
                case 4 -> lieAboutLength(rnd, valid(rnd));
                case 5 -> extend(rnd, valid(rnd));
                case 6 -> shuffledOffsets(rnd);
                default -> editJson(rnd, valid(rnd));
            };
            // A fresh name per case: rewriting one file in place makes ext4 flush it on every close.
            Path file = dir.resolve("fuzz-" + c + ".safetensors");
            Files.write(file, bytes);
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                long sum = 0;
                for (String name : f.names()) {
                    Tensor t = f.tensor(name);
                    for (long i = 0; i < t.byteSize(); i++) sum += t.data().get(ValueLayout.JAVA_BYTE, i);
                }
                if (sum == Long.MIN_VALUE) throw new AssertionError(); // keep the reads
                opened++;
            } catch (UserError expected) {
                String reason = expected.getMessage().substring(expected.getMessage().indexOf(": ") + 2).replaceAll("'[^']*'", "'…'")
                        .replaceAll("\\d+", "N");
                reasons.merge(reason.substring(0, Math.min(24, reason.length())), 1, Integer::sum);
                if (!expected.getMessage().startsWith(file + ": ")) {
                    fail("case " + c + " kind " + kind + " seed " + seed + ": message does not name the file: "
                            + expected.getMessage());
                }
            } catch (Throwable t) {
                throw new AssertionError("case " + c + " kind " + kind + " seed " + seed + " threw " + t
                        + " for bytes " + RawFiles.hexHead(bytes, 300), t);
            }
            Files.delete(file);
        }
        System.out.println("safetensors fuzz, seed " + seed + ": " + opened + " of " + CASES + " opened; "
                + reasons.size() + " kinds of refusal: " + reasons);
        // Mutations of valid files must sometimes leave them valid (e.g. a flip in a padding space),
        // and must mostly break them; either outcome alone would mean the generator is broken.
        if (opened == 0 || opened == CASES) fail("degenerate fuzz: " + opened + " of " + CASES + " opened (seed " + seed + ")");
    }

    /** A valid file of 0..5 random tensors of random dtypes and shapes (some empty), random data. */
    private static byte[] valid(SplittableRandom rnd) {
        try (Arena arena = Arena.ofConfined()) {
            SequencedMap<String, Tensor> m = new LinkedHashMap<>();
            int n = rnd.nextInt(6);
            for (int i = 0; i < n; i++) {
                DType d = TYPES[rnd.nextInt(TYPES.length)];
                long[] dims = new long[rnd.nextInt(3)];
                for (int k = 0; k < dims.length; k++) dims[k] = rnd.nextInt(4);
                m.put("t" + i, Tensor.allocate(d, Shape.of(dims), arena));
            }
            Map<String, String> meta = rnd.nextBoolean() ? Map.of("format", "pt") : Map.of();
            byte[] header = SafetensorsWriter.header(m, meta);
            long data = m.values().stream().mapToLong(Tensor::byteSize).sum();
            byte[] body = new byte[(int) data];
            for (int i = 0; i < body.length; i++) body[i] = (byte) rnd.nextInt();
            return RawFiles.file(header, body);
        }
    }

    /**
     * Consistent entries (byte length = numel × size) whose data_offsets start anywhere in the
     * data area, so tensors overlap, leave gaps or run past the end; header JSON built by hand.
     */
    private static byte[] shuffledOffsets(SplittableRandom rnd) {
        int n = 1 + rnd.nextInt(4);
        long[] sizes = new long[n];
        StringBuilder json = new StringBuilder("{");
        long total = 0;
        String[] entries = new String[n];
        for (int i = 0; i < n; i++) {
            DType d = TYPES[rnd.nextInt(TYPES.length)];
            long len = rnd.nextInt(5);
            sizes[i] = d.byteSize(len);
            total += sizes[i];
            entries[i] = "\"t" + i + "\":{\"dtype\":\"" + d + "\",\"shape\":[" + len + "],\"data_offsets\":[";
        }
        long data = rnd.nextBoolean() ? total : rnd.nextLong(total + 8);
        long at = 0;
        for (int i = 0; i < n; i++) {
            long begin = rnd.nextInt(3) == 0 ? rnd.nextLong(data + 1) : at;
            at = begin + sizes[i];
            json.append(i == 0 ? "" : ",").append(entries[i]).append(begin).append(',').append(at).append("]}");
        }
        json.append('}');
        return RawFiles.file(json.toString(), new byte[(int) data]);
    }

    private static byte[] randomBytes(SplittableRandom rnd) {
        byte[] b = new byte[rnd.nextInt(300)];
        for (int i = 0; i < b.length; i++) b[i] = (byte) rnd.nextInt();
        if (b.length >= 8 && rnd.nextBoolean()) { // a plausible length so the JSON parser is reached
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, rnd.nextInt(b.length - 7));
            if (b.length > 8) b[8] = '{';
        }
        return b;
    }

    private static long headerLength(byte[] file) {
        return ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    private static byte[] flipBits(SplittableRandom rnd, byte[] f, boolean headerOnly) {
        int end = headerOnly ? (int) (8 + headerLength(f)) : f.length;
        int flips = 1 + rnd.nextInt(8);
        for (int i = 0; i < flips; i++) {
            int at = 8 + rnd.nextInt(Math.max(1, end - 8));
            if (at < f.length) f[at] ^= (byte) (1 << rnd.nextInt(8));
        }
        return f;
    }

    private static byte[] flipLengthBits(SplittableRandom rnd, byte[] f) {
        int flips = 1 + rnd.nextInt(3);
        for (int i = 0; i < flips; i++) f[rnd.nextInt(8)] ^= (byte) (1 << rnd.nextInt(8));
        return f;
    }

    private static byte[] truncate(SplittableRandom rnd, byte[] f) {
        return Arrays.copyOf(f, rnd.nextInt(f.length));
    }

    private static byte[] extend(SplittableRandom rnd, byte[] f) {
        byte[] g = Arrays.copyOf(f, f.length + 1 + rnd.nextInt(16));
        for (int i = f.length; i < g.length; i++) g[i] = (byte) rnd.nextInt();
        return g;
    }

    private static byte[] lieAboutLength(SplittableRandom rnd, byte[] f) {
        long n = headerLength(f);
        long[] lies = {-1L, Long.MIN_VALUE, Long.MAX_VALUE, 100_000_000L, 100_000_001L, 1L << 32, (1L << 31) - 1,
                f.length - 8, f.length - 7, n + 1, n - 1, n + 3, 0, rnd.nextLong(), rnd.nextInt(f.length)};
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, lies[rnd.nextInt(lies.length)]);
        return f;
    }

    /** Textual edits of the header JSON; the length field is then set to the new header's length. */
    private static byte[] editJson(SplittableRandom rnd, byte[] f) {
        int n = (int) headerLength(f);
        String json = new String(f, 8, n, StandardCharsets.UTF_8).stripTrailing();
        byte[] data = Arrays.copyOfRange(f, 8 + n, f.length);
        String[] numbers = {"-1", "-9223372036854775808", "9223372036854775807", "18446744073709551615",
                "99999999999999999999999", "1e3", "2.5", "0", "4294967296", "\"3\"", "null", "[]", "{}"};
        String[] dtypes = {"\"F31\"", "\"f32\"", "\"NF4\"", "\"\"", "1", "null", "\"BF16\"", "\"U8\"", "\"F64\""};
        String edited = switch (rnd.nextInt(8)) {
            case 0 -> replaceRandomNumber(rnd, json, numbers[rnd.nextInt(numbers.length)]);
            case 1 -> json.replaceFirst("\"(F64|F32|F16|BF16|I64|I32|I16|I8|U8|BOOL|F8_E4M3|F8_E5M2)\"",
                    java.util.regex.Matcher.quoteReplacement(dtypes[rnd.nextInt(dtypes.length)]));
            case 2 -> duplicateAKey(json);
            case 3 -> json.replaceFirst("\"data_offsets\":\\[(\\d+),(\\d+)\\]", "\"data_offsets\":[$2,$1]");
            case 4 -> json.replaceFirst("\\{", "{\"deep\":{\"dtype\":\"F32\",\"x\":" + "[".repeat(1 + rnd.nextInt(3000))
                    + "]".repeat(rnd.nextInt(3000)) + "},");
            case 5 -> json.replaceFirst("\"data_offsets\":\\[\\d+,", "\"data_offsets\":[0,"); // overlap
            case 6 -> deleteChars(rnd, json);
            default -> replaceRandomNumber(rnd, json, Long.toString(rnd.nextLong(0, 1L << 40)));
        };
        byte[] header = edited.getBytes(StandardCharsets.UTF_8);
        return RawFiles.file(header, data);
    }

    private static String replaceRandomNumber(SplittableRandom rnd, String json, String replacement) {
        var m = java.util.regex.Pattern.compile("\\d+").matcher(json);
        java.util.List<int[]> spans = new java.util.ArrayList<>();
        while (m.find()) spans.add(new int[] {m.start(), m.end()});
        if (spans.isEmpty()) return json + " ";
        int[] s = spans.get(rnd.nextInt(spans.size()));
        return json.substring(0, s[0]) + replacement + json.substring(s[1]);
    }

    private static String duplicateAKey(String json) {
        int start = json.indexOf("\"t0\":");
        if (start < 0) return "{\"a\":1,\"a\":1}";
        int end = json.indexOf('}', start) + 1;
        String entry = json.substring(start, end);
        return json.substring(0, end) + "," + entry + json.substring(end);
    }

    private static String deleteChars(SplittableRandom rnd, String json) {
        StringBuilder b = new StringBuilder(json);
        int k = 1 + rnd.nextInt(3);
        for (int i = 0; i < k && b.length() > 0; i++) b.deleteCharAt(rnd.nextInt(b.length()));
        return b.toString();
    }
}
