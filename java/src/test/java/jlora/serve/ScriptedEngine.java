package jlora.serve;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import jlora.data.Message;
import jlora.data.ToolCall;
import jlora.infer.ChatEngine;
import jlora.infer.ChatRequest;
import jlora.infer.ChatResult;

/**
 * Deterministic ChatEngine test double: the reply is a fixed Korean sentence around the last
 * user message ({@link #replyTo}), streamed one code point (= one "token") at a time; with tools
 * present it calls the first tool with {"query": last user message} instead. The user message
 * "forever" streams without end until cancelled. {@link #hold} makes every generation wait
 * (queue tests); {@link #cancelSeen} counts down when a generation observes cancellation.
 */
final class ScriptedEngine implements ChatEngine {
    static final String FOREVER = "forever";
    /** Questions that make the double fail: a bug (500) and a refused conversation (UserError, 400). */
    static final String BUG = "raise a bug";
    static final String REFUSE = "raise a user error";

    final long tokenDelayMillis;
    volatile CountDownLatch hold = new CountDownLatch(0);
    final CountDownLatch cancelSeen = new CountDownLatch(1);
    final AtomicInteger started = new AtomicInteger();
    volatile ChatRequest last;
    /** The model context the double claims (a prompt must be shorter). */
    volatile int context = Integer.MAX_VALUE;

    ScriptedEngine(long tokenDelayMillis) {
        this.tokenDelayMillis = tokenDelayMillis;
    }

    static String replyTo(String userText) {
        return "안녕하세요! 「" + userText + "」에 대한 답입니다. 한국어 응답 ✓";
    }

    static String lastUser(ChatRequest r) {
        List<Message> ms = r.messages();
        for (int i = ms.size() - 1; i >= 0; i--) if (ms.get(i).role().equals("user")) return ms.get(i).content();
        return "";
    }

    @Override
    public String modelId() {
        return "jlora-test-double";
    }

    /** Four tokens of template per message plus one per code point of content. */
    @Override
    public int promptTokens(ChatRequest r) {
        int n = 0;
        for (Message m : r.messages()) n += 4 + (m.content() == null ? 0 : m.content().codePointCount(0, m.content().length()));
        return n;
    }

    @Override
    public int contextLength() {
        return context;
    }

    @Override
    public ChatResult generate(ChatRequest request, Consumer<String> onText, BooleanSupplier cancelled) {
        started.incrementAndGet();
        last = request;
        try {
            while (!hold.await(10, TimeUnit.MILLISECONDS)) {
                if (cancelled.getAsBoolean()) return cancel(request, 0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return cancel(request, 0);
        }
        String user = lastUser(request);
        if (user.equals(BUG)) throw new IllegalStateException("scripted engine failure");
        if (user.equals(REFUSE)) throw new jlora.UserError("chat template: conversation roles must alternate");
        int prompt = promptTokens(request);
        if (!request.tools().isEmpty()) {
            String name = (String) ((Map<?, ?>) request.tools().get(0).get("function")).get("name");
            return new ChatResult("", List.of(new ToolCall("call_" + Integer.toHexString(user.hashCode()), name,
                    Map.of("query", user))), "tool_calls", prompt, 12);
        }
        if (user.equals(FOREVER)) {
            for (int n = 0; ; n++) {
                if (cancelled.getAsBoolean()) return cancel(request, n);
                onText.accept("가");
                pause();
            }
        }
        String reply = replyTo(user);
        String finish = "stop";
        for (String s : request.sampling().stop()) {
            int at = reply.indexOf(s);
            if (at >= 0) reply = reply.substring(0, at);
        }
        int[] cps = reply.codePoints().toArray();
        int n = 0;
        StringBuilder text = new StringBuilder();
        for (int cp : cps) {
            if (n == request.sampling().maxNewTokens()) {
                finish = "length";
                break;
            }
            if (cancelled.getAsBoolean()) return cancel(request, n);
            String piece = Character.toString(cp);
            text.append(piece);
            onText.accept(piece);
            n++;
            pause();
        }
        return new ChatResult(text.toString(), List.of(), finish, prompt, n);
    }

    private ChatResult cancel(ChatRequest r, int n) {
        cancelSeen.countDown();
        return new ChatResult("", List.of(), "cancelled", promptTokens(r), n);
    }

    private void pause() {
        if (tokenDelayMillis <= 0) return;
        try {
            Thread.sleep(tokenDelayMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
