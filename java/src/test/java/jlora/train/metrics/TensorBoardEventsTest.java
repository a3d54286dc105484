package jlora.train.metrics;

import static jlora.train.metrics.TfEventReader.fields;
import static jlora.train.metrics.TfEventReader.one;
import static jlora.train.metrics.TfEventReader.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Oracle: {@link TfEventReader}, a separate TFRecord + protobuf decoder (own CRC-32C table,
 * own masking, generic wire-format parsing), checked itself against the published CRC-32C
 * check value. Field numbers expected are those of TensorFlow's event.proto / summary.proto.
 * Values must round-trip to the exact float32 (bit equality); steps and wall times exactly.
 */
class TensorBoardEventsTest {
    @TempDir
    Path dir;

    @Test
    void readerCrcMatchesPublishedCheckValue() {
        // CRC-32C of ASCII "123456789" is 0xE3069283 (RFC 3720 / the CRC catalogue's "check").
        byte[] b = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, TfEventReader.crc32c(b, 0, b.length));
    }

    record Logged(long step, double wallTime, Map<String, Double> scalars) {}

    @Test
    void scalarsAndTextRoundTripThroughIndependentReader() throws IOException {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        AtomicLong clockMillis = new AtomicLong(1_700_000_000_000L + rnd.nextLong(1_000_000_000L));
        TensorBoardEvents tb = new TensorBoardEvents(dir, () -> clockMillis.get() / 1000.0);
        double openTime = clockMillis.get() / 1000.0;

        List<Logged> logged = new ArrayList<>();
        long step = 0;
        String[] tags = {MetricNames.LOSS, MetricNames.LR, MetricNames.EPOCH, "eval/loss", "train/grad_norm"};
        for (int i = 0; i < 40; i++) {
            step += 1 + rnd.nextInt(300);
            clockMillis.addAndGet(1 + rnd.nextInt(5000));
            Map<String, Double> s = new LinkedHashMap<>();
            for (String tag : tags) {
                if (rnd.nextInt(4) == 0) continue;
                // wide magnitudes: lr ~1e-6, losses ~10, plus subnormal-ish and huge values
                s.put(tag, (rnd.nextDouble() - 0.25) * Math.pow(10, rnd.nextInt(-8, 9)));
            }
            if (s.isEmpty()) s.put(MetricNames.LOSS, rnd.nextDouble());
            tb.log(step, s);
            logged.add(new Logged(step, clockMillis.get() / 1000.0, s));
        }
        String sample = "답변: 서울은 한국의 수도입니다. \"quoted\"\n<think>x</think>";
        long textStep = step + 1;
        tb.text(textStep, "sample/generation", sample);
        tb.close();

        Path file = tb.file();
        assertTrue(file.getFileName().toString().matches(
                "events\\.out\\.tfevents\\.\\d{10}\\.[^/]+\\.\\d+\\.\\d+"), file.toString());

        List<byte[]> records = TfEventReader.records(Files.readAllBytes(file));
        assertEquals(1 + logged.size() + 1, records.size(), "seed " + seed);

        var first = fields(records.get(0));
        assertEquals("brain.Event:2", utf8(one(first, 3)));
        assertEquals(openTime, Double.longBitsToDouble((Long) one(first, 1)));

        for (int i = 0; i < logged.size(); i++) {
            Logged want = logged.get(i);
            var event = fields(records.get(1 + i));
            String where = "seed " + seed + ", event " + i + " (step " + want.step + ")";
            assertEquals(want.step, (long) (Long) one(event, 2), where);
            assertEquals(want.wallTime, Double.longBitsToDouble((Long) one(event, 1)), where);
            var summary = fields((byte[]) one(event, 5));
            Map<String, Float> got = new LinkedHashMap<>();
            for (Object v : summary.get(1)) {
                var value = fields((byte[]) v);
                got.put(utf8(one(value, 1)), Float.intBitsToFloat((Integer) one(value, 2)));
            }
            assertEquals(want.scalars.keySet(), got.keySet(), where);
            for (var e : want.scalars.entrySet()) {
                float expected = e.getValue().floatValue();
                float actual = got.get(e.getKey());
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual),
                        where + ", tag " + e.getKey() + ": wrote " + e.getValue() + " (float " + expected + "), read " + actual);
            }
        }

        var text = fields(records.get(records.size() - 1));
        assertEquals(textStep, (long) (Long) one(text, 2));
        var value = fields((byte[]) one(fields((byte[]) one(text, 5)), 1));
        assertEquals("sample/generation", utf8(one(value, 1)));
        var tensor = fields((byte[]) one(value, 8));
        assertEquals(7L, one(tensor, 1), "dtype DT_STRING");
        assertArrayEquals(sample.getBytes(StandardCharsets.UTF_8), (byte[]) one(tensor, 8));
        var plugin = fields((byte[]) one(fields((byte[]) one(value, 9)), 1));
        assertEquals("text", utf8(one(plugin, 1)));
    }

    @Test
    void anyFlippedByteIsCaughtByTheReadersCrc() throws IOException {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        TensorBoardEvents tb = new TensorBoardEvents(dir, () -> 1.7e9);
        for (int s = 1; s <= 5; s++) tb.log(s, Map.of(MetricNames.LOSS, rnd.nextDouble()));
        tb.close();
        byte[] bytes = Files.readAllBytes(tb.file());
        TfEventReader.records(bytes); // intact: no complaint
        for (int trial = 0; trial < 20; trial++) {
            byte[] bad = bytes.clone();
            int at = rnd.nextInt(bad.length);
            bad[at] ^= (byte) (1 << rnd.nextInt(8));
            assertThrows(TfEventReader.CorruptRecord.class, () -> TfEventReader.records(bad),
                    "seed " + seed + ": bit flip at byte " + at + " of " + bad.length + " went unnoticed");
        }
    }

    @Test
    void resumeStartsWithSessionLogStartAfterTheResumeStep() throws IOException {
        TensorBoardEvents tb = TensorBoardEvents.resume(dir, 500);
        tb.log(501, Map.of(MetricNames.LOSS, 1.0));
        tb.close();
        List<byte[]> records = TfEventReader.records(Files.readAllBytes(tb.file()));
        assertEquals(3, records.size());
        var start = fields(records.get(1));
        assertEquals(501L, one(start, 2), "TensorBoard purges steps >= this one; 500 is kept");
        assertEquals(1L, one(fields((byte[]) one(start, 7)), 1), "SessionLog.status START");
    }

    @Test
    void twoWritersInOneProcessGetDistinctFiles() {
        TensorBoardEvents a = new TensorBoardEvents(dir, () -> 1.7e9);
        TensorBoardEvents b = new TensorBoardEvents(dir, () -> 1.7e9);
        a.close();
        b.close();
        assertTrue(!a.file().equals(b.file()), a.file() + " twice");
    }
}
