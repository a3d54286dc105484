package jlora.train.metrics;

import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import java.util.zip.CRC32C;
import jlora.UserError;

/**
 * TensorBoard event files: {@code events.out.tfevents.<unix-secs>.<host>.<pid>.<n>} in the log
 * directory (a new file per run or resume; TensorBoard reads all of a directory's files in
 * order). The file is a TFRecord stream; each record:
 * <pre>
 *   uint64 length (LE) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 * </pre>
 * with masked(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8 (TensorFlow's lib/hash/crc32c.h), and
 * data a serialized Event (see {@link EventProto}); the first Event carries the file version.
 * Each record is one unbuffered write, so TensorBoard can follow a live run and a crash loses
 * at most the record being written.
 */
public final class TensorBoardEvents implements MetricsSink {
    /** The run directory's subdirectory for event files: {@code tensorboard --logdir RUN_DIR} finds it. */
    public static final String DIR = "tensorboard";

    private static final int MASK_DELTA = 0xa282ead8;
    private static final AtomicInteger FILES_OPENED = new AtomicInteger();

    private final Path file;
    private final FileOutputStream out;
    private final DoubleSupplier clockSeconds;

    /** A new event file in {@code logDir}. */
    public static TensorBoardEvents open(Path logDir) {
        return new TensorBoardEvents(logDir, () -> System.currentTimeMillis() / 1000.0);
    }

    /**
     * A new event file for a run resumed from the checkpoint at {@code resumeStep}: it starts
     * with a SessionLog START at resumeStep + 1, on which TensorBoard drops the older files'
     * points at steps >= that (they are trained and logged again; checked by hand against
     * TensorBoard 2.21's EventAccumulator, which keeps 1..resumeStep and the new points).
     */
    public static TensorBoardEvents resume(Path logDir, long resumeStep) {
        TensorBoardEvents events = open(logDir);
        events.record(EventProto.sessionStart(events.clockSeconds.getAsDouble(), resumeStep + 1));
        return events;
    }

    TensorBoardEvents(Path logDir, DoubleSupplier clockSeconds) {
        this.clockSeconds = clockSeconds;
        double now = clockSeconds.getAsDouble();
        this.file = logDir.resolve("events.out.tfevents." + (long) now + "." + hostName() + "."
                + ProcessHandle.current().pid() + "." + FILES_OPENED.getAndIncrement());
        try {
            Files.createDirectories(logDir);
            this.out = new FileOutputStream(file.toFile(), false);
        } catch (IOException e) {
            throw new UserError("cannot create TensorBoard event file " + file + ": " + e.getMessage()
                    + "; check that the output directory is writable");
        }
        record(EventProto.fileVersion(now));
    }

    public Path file() {
        return file;
    }

    @Override
    public void log(long step, Map<String, Double> scalars) {
        // Sorted so the same scalars always give the same bytes.
        record(EventProto.scalars(clockSeconds.getAsDouble(), step, new TreeMap<>(scalars).entrySet()));
    }

    @Override
    public void text(long step, String tag, String text) {
        record(EventProto.text(clockSeconds.getAsDouble(), step, tag, text));
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // records were written as they came; nothing is buffered here
        }
    }

    private void record(byte[] data) {
        ByteBuffer rec = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        rec.putLong(data.length);
        rec.putInt(maskedCrc32c(rec.array(), 0, 8));
        rec.put(data);
        rec.putInt(maskedCrc32c(data, 0, data.length));
        try {
            out.write(rec.array());
        } catch (IOException e) {
            throw new UserError("cannot append to " + file + ": " + e.getMessage() + "; check free disk space");
        }
    }

    static int maskedCrc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + MASK_DELTA;
    }

    /** The host part of the file name, as TensorFlow's writer puts it there (gethostname). */
    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) return env.strip();
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
