package jlora.serve;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * One response's server-sent-event stream. Each event is serialised whole and written in one
 * call on this exchange's own output stream, so events never interleave, neither within a
 * response nor across responses. The first failed write (the client went away) marks the
 * stream broken; {@link #broken()} is the generation's cancellation signal.
 */
final class SseStream {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final ObjectMapper json;
    private volatile boolean broken;

    SseStream(OutputStream out, ObjectMapper json) {
        this.out = out;
        this.json = json;
    }

    void send(Object event) {
        if (broken) return;
        try {
            byte[] body = json.writeValueAsBytes(event);
            byte[] frame = new byte[6 + body.length + 2];
            System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, frame, 0, 6);
            System.arraycopy(body, 0, frame, 6, body.length);
            frame[frame.length - 2] = '\n';
            frame[frame.length - 1] = '\n';
            write(frame);
        } catch (IOException e) {
            broken = true;
        }
    }

    /** An SSE comment line: clients ignore it; a write failure reveals a client that left. */
    void ping() {
        if (broken) return;
        write(": ping\n\n".getBytes(StandardCharsets.US_ASCII));
    }

    void done() {
        if (!broken) write(DONE);
    }

    boolean broken() {
        return broken;
    }

    private synchronized void write(byte[] frame) {
        try {
            out.write(frame);
            out.flush();
        } catch (IOException e) {
            broken = true;
        }
    }
}
