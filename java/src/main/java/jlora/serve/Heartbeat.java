package jlora.serve;

/**
 * When a non-streaming response starts probing its client with JSON whitespace (see
 * {@link HeartbeatResponse}): {@code afterMillis} after admission, then every
 * {@code everyMillis}. A reply ready before {@code afterMillis} goes out exactly as it would
 * without heartbeats (its own status, Content-Length).
 */
record Heartbeat(long afterMillis, long everyMillis) {
    /**
     * Most replies that fail fast (engine errors, shutdown) still get their own status; a client
     * that hangs up is noticed at most about {@code afterMillis + 2 * everyMillis} later: the
     * first write after the peer's FIN is accepted by the local kernel and draws an RST, the
     * next one fails.
     */
    static final Heartbeat DEFAULT = new Heartbeat(500, 250);
    /** No heartbeats: the response is written once, at the end (the behaviour before heartbeats). */
    static final Heartbeat OFF = new Heartbeat(-1, -1);

    Heartbeat {
        if (afterMillis >= 0 && everyMillis <= 0) throw new IllegalArgumentException("everyMillis must be > 0, got " + everyMillis);
    }

    boolean enabled() {
        return afterMillis >= 0;
    }
}
