package jlora.serve;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.infer.ChatEngine;
import jlora.infer.ChatRequest;
import jlora.infer.ChatResult;

/**
 * Admission and scheduling. {@link #admit()} takes one of {@code maxConcurrent + queueDepth}
 * places or fails at once with 429 (503 once shutting down), so a refused client learns it
 * before any response bytes are sent. An admitted request then waits for one of
 * {@code maxConcurrent} generation slots and runs {@link ChatEngine#generate} alone in it.
 *
 * <p>Batched decoding lives behind the engine: with {@link jlora.infer.BatchingEngine} the
 * {@code maxConcurrent} requests holding slots are decoded together in one batch by its
 * scheduler thread, each slot's thread receiving its own text deltas.
 */
final class RequestQueue {
    private final ChatEngine engine;
    private final int queueDepth;
    private final Semaphore places;
    private final Semaphore slots;
    private final AtomicInteger running = new AtomicInteger();
    private volatile boolean closed;

    RequestQueue(ChatEngine engine, int maxConcurrent, int queueDepth) {
        this.engine = engine;
        this.queueDepth = queueDepth;
        this.places = new Semaphore(maxConcurrent + queueDepth);
        this.slots = new Semaphore(maxConcurrent, true);
    }

    Ticket admit() {
        if (closed) throw ApiError.shuttingDown();
        if (!places.tryAcquire()) throw ApiError.queueFull(queueDepth);
        return new Ticket();
    }

    /** Refuse new requests from now on; those admitted carry on. */
    void close() {
        closed = true;
    }

    boolean closed() {
        return closed;
    }

    /** Requests admitted and not yet finished (waiting or generating). */
    int inFlight() {
        return running.get();
    }

    final class Ticket implements AutoCloseable {
        private boolean released;

        private Ticket() {
            running.incrementAndGet();
        }

        /**
         * Waits for a slot (running {@code whileQueued} and polling {@code cancelled} so a client who leaves while queued frees
         * its place), then generates. Returns null if cancelled before a slot came free.
         */
        ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled,
                            Runnable whileQueued) throws InterruptedException {
            while (!slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                whileQueued.run();
                if (cancelled.getAsBoolean()) return null;
            }
            try {
                return engine.generate(request, onText, cancelled);
            } finally {
                slots.release();
            }
        }

        @Override
        public void close() {
            if (released) return;
            released = true;
            running.decrementAndGet();
            places.release();
        }
    }
}
