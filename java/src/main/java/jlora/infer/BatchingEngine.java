package jlora.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A {@link ChatEngine} that decodes up to {@code maxBatch} requests together (continuous
 * batching). One scheduler thread owns the model. A request thread encodes its prompt, submits
 * a job and then waits on the job's own event queue, passing text deltas to its
 * {@code onText} (so a slow client never stalls the batch) and turning {@code cancelled} into
 * a flag the scheduler reads. Between decode steps the scheduler prefills newly arrived jobs
 * one at a time (each alone, as {@link Generator} would) and adds them to the batch; each step
 * then runs one {@link DecoderModel#decodeBatch} over every active sequence, samples each row
 * with that sequence's own sampler, and drops sequences that finished or were cancelled at once.
 * A prefill holds up the batch for its own duration (it is not chunked).
 * Per sequence the calls and their order are exactly {@link Generator}'s, so with a model
 * whose batched rows equal its solo rows the output is the solo output.
 */
public final class BatchingEngine implements ChatEngine, AutoCloseable {
    private static final long POLL_MS = 50;
    private final ModelChatEngine base;
    private final int maxBatch;
    private final BlockingQueue<Job> inbox = new LinkedBlockingQueue<>();
    private final Thread scheduler;
    private volatile boolean closed;
    private volatile int largestBatch;
    private final AtomicInteger cancelledCount = new AtomicInteger();

    public BatchingEngine(ModelChatEngine base, int maxBatch) {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        this.base = base;
        this.maxBatch = maxBatch;
        this.scheduler = Thread.ofPlatform().daemon().name("jlora-batch-decode").start(this::run);
    }

    @Override
    public String modelId() {
        return base.modelId();
    }

    /** The most sequences one decode step has run together so far (for load figures). */
    public int largestBatch() {
        return largestBatch;
    }

    /** Sequences ended by cancellation so far (taken out of the batch or the queue). */
    public int cancelledCount() {
        return cancelledCount.get();
    }

    /** Requests submitted and not yet taken into the batch. */
    public int waiting() {
        return inbox.size();
    }

    @Override
    public int promptTokens(ChatRequest request) {
        return base.promptTokens(request);
    }

    @Override
    public int contextLength() {
        return base.contextLength();
    }

    @Override
    public ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled) {
        int[] prompt = base.encode(request);
        Generator.checkPrompt(prompt, base.model());
        SamplingParams s = base.sampling(request);
        Job job = new Job(prompt, s, base.stopCriteria(s));
        if (closed) throw new IllegalStateException("the engine is closed");
        inbox.add(job);
        Turn turn = new Turn(onText);
        try {
            while (true) {
                Object event = job.events.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (!job.cancelled && cancelled.getAsBoolean()) job.cancelled = true;
                switch (event) {
                    case null -> {
                        if (!scheduler.isAlive()) throw new IllegalStateException("the engine is closed");
                    }
                    case String text -> turn.text(text);
                    case Generator.Output out -> {
                        return turn.result(out);
                    }
                    case RuntimeException e -> throw e;
                    case Error e -> throw e;
                    default -> throw new IllegalStateException("unexpected event " + event);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while generating", e);
        } finally {
            // however this thread leaves (onText threw, interrupted), the sequence stops at the next step
            job.cancelled = true;
        }
    }

    /** A submitted request: what to generate, the flag its thread sets, the events it reads. */
    private static final class Job {
        final int[] prompt;
        final SamplingParams sampling;
        final StopCriteria stop;
        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        volatile boolean cancelled;
        Sequence seq;

        Job(int[] prompt, SamplingParams sampling, StopCriteria stop) {
            this.prompt = prompt;
            this.sampling = sampling;
            this.stop = stop;
        }
    }

    private void run() {
        List<Job> active = new ArrayList<>();
        try {
            while (!closed) {
                Job j = active.isEmpty() ? inbox.poll(POLL_MS, TimeUnit.MILLISECONDS)
                        : active.size() < maxBatch ? inbox.poll() : null;
                try {
                    while (j != null) {
                        join(j, active);
                        j = active.size() < maxBatch ? inbox.poll() : null;
                    }
                    // a request cancelled while it waits for a place in a full batch leaves now
                    inbox.removeIf(w -> w.cancelled && cancelledBeforeStart(w));
                    if (!active.isEmpty()) step(active);
                } catch (RuntimeException | Error e) {
                    // nothing may leave a request thread waiting forever
                    for (Job a : active) a.events.add(e);
                    active.clear();
                }
            }
        } catch (InterruptedException e) {
            // closing
        }
        IllegalStateException gone = new IllegalStateException("the engine was closed during generation");
        for (Job j : active) j.events.add(gone);
        for (Job j; (j = inbox.poll()) != null; ) j.events.add(gone);
    }

    /** Prefills a new job alone and adds it to the batch unless its first token already ends it. */
    private void join(Job j, List<Job> active) {
        if (j.cancelled) {
            cancelledBeforeStart(j);
            return;
        }
        try {
            j.seq = new Sequence(base.model(), base.tokenizer(), j.prompt, j.sampling, j.stop, j.events::add);
            float[] logits = base.model().prefill(j.seq.cache(), j.prompt);
            if (j.seq.accept(logits)) active.add(j);
            else j.events.add(j.seq.finish());
        } catch (RuntimeException | Error e) {
            j.events.add(e);
        }
    }

    private boolean cancelledBeforeStart(Job j) {
        cancelledCount.incrementAndGet();
        j.events.add(new Generator.Output(new int[0], "", "cancelled", j.prompt.length));
        return true;
    }

    /** Drops cancelled sequences, decodes the rest together, samples each row. */
    private void step(List<Job> active) {
        active.removeIf(j -> {
            if (!j.cancelled) return false;
            cancelledCount.incrementAndGet();
            j.seq.cancel();
            j.events.add(j.seq.finish());
            return true;
        });
        int b = active.size();
        if (b == 0) return;
        if (b > largestBatch) largestBatch = b;
        KvCache[] caches = new KvCache[b];
        int[] tokens = new int[b];
        for (int i = 0; i < b; i++) {
            caches[i] = active.get(i).seq.cache();
            tokens[i] = active.get(i).seq.lastToken();
        }
        float[][] logits;
        try {
            logits = base.model().decodeBatch(caches, tokens);
        } catch (RuntimeException | Error e) {
            for (Job j : active) j.events.add(e);
            active.clear();
            return;
        }
        List<Job> still = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            Job j = active.get(i);
            try {
                if (j.seq.accept(logits[i])) still.add(j);
                else j.events.add(j.seq.finish());
            } catch (RuntimeException | Error e) {
                j.events.add(e);
            }
        }
        active.clear();
        active.addAll(still);
    }

    @Override
    public void close() {
        closed = true;
        scheduler.interrupt();
        try {
            scheduler.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        base.close();
    }
}
