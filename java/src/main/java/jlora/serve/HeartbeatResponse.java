package jlora.serve;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A non-streaming JSON response that notices when its client hangs up. The JDK's HttpServer
 * does not read a connection while a handler owns the exchange and exposes no socket, so no
 * read-side EOF can be seen; the only legitimate signal is a failed write. Once
 * {@link Heartbeat#afterMillis} have passed without the reply being ready, a heartbeat thread
 * sends 200 with a chunked body and writes one space every {@link Heartbeat#everyMillis}
 * (JSON allows whitespace before a value, RFC 8259 section 2, so every JSON parser reads the
 * final body unchanged). The first failed write marks the client gone; the generation polls
 * {@link #clientGone()} as its cancellation and leaves the batch at its next token.
 *
 * <p>The price: after the first space the status is fixed at 200, so a failure after that
 * (engine error, shutdown cutting the generation off) is written as OpenAI's error object in
 * the 200 body, as a stream already sends it as an event; OpenRouter documents the same rule
 * for errors after a model started processing. A reply ready within {@code afterMillis} is
 * sent exactly as without heartbeats: its own status and a Content-Length.
 *
 * <p>Every write happens under one lock, and {@link #stop()} takes it, so after {@code stop()}
 * returns the caller is the only writer.
 */
final class HeartbeatResponse {
    private static final byte[] SPACE = {' '};

    private final HttpExchange ex;
    private final Heartbeat timing;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition stopping = lock.newCondition();
    private boolean stopped;
    private boolean committed;
    private volatile boolean gone;

    HeartbeatResponse(HttpExchange ex, Heartbeat timing) {
        this.ex = ex;
        this.timing = timing;
        if (timing.enabled()) Thread.ofVirtual().name("jlora-heartbeat").start(this::beat);
    }

    /** True once a heartbeat (or the reply) could not be written: the client went away. */
    boolean clientGone() {
        return gone;
    }

    /** Ends the heartbeats; true if a 200 already went out, so the reply must follow in its body. */
    boolean stop() {
        lock.lock();
        try {
            stopped = true;
            stopping.signalAll();
            return committed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The reply: with its own status and Content-Length when no heartbeat went out, else as the
     * rest of the 200 body (then {@code status} is lost: the body says what happened).
     */
    void send(int status, byte[] json) {
        boolean committed = stop();
        if (gone) return;
        if (!committed) {
            ChatServer.send(ex, status, "application/json", json);
            return;
        }
        try (OutputStream out = ex.getResponseBody()) {
            out.write(json);
        } catch (IOException e) {
            gone = true;
        }
    }

    private void beat() {
        long every = TimeUnit.MILLISECONDS.toNanos(timing.everyMillis());
        long next = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timing.afterMillis());
        lock.lock();
        try {
            while (!stopped) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    stopping.awaitNanos(wait);
                    continue;
                }
                if (!committed) {
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    ex.sendResponseHeaders(200, 0);
                    committed = true;
                }
                OutputStream out = ex.getResponseBody();
                out.write(SPACE);
                out.flush();
                next = System.nanoTime() + every;
            }
        } catch (IOException e) {
            gone = true;
        } catch (InterruptedException e) {
            // nothing interrupts this thread; if something does, the reply is still written by send
        } finally {
            lock.unlock();
        }
    }
}
