package jlora.serve;

/**
 * How the server listens and what it admits. Defaults are safe for one CPU-bound model:
 * loopback only, one generation at a time, a short queue, and request limits that stop a
 * single client from holding the model for minutes.
 *
 * @param maxConcurrent generations running at once (decoded together in one batch by a
 *                      {@link jlora.infer.BatchingEngine}; 1: one at a time)
 * @param queueDepth    requests allowed to wait for a slot; one more gets 429
 * @param maxBodyBytes  largest request body (413 beyond it)
 * @param maxMessages   most messages in one chat request
 * @param maxTokens     largest max_tokens a client may ask for, and the default when it asks none
 * @param maxPromptTokens longest prompt after the chat template, in tokens
 */
public record ServeConfig(String host, int port, String apiKey, int maxConcurrent, int queueDepth,
                          int maxBodyBytes, int maxMessages, int maxTokens, int maxPromptTokens) {
    public static final String DEFAULT_HOST = "127.0.0.1";

    public ServeConfig {
        if (maxConcurrent < 1) throw new IllegalArgumentException("maxConcurrent must be >= 1, got " + maxConcurrent);
        if (queueDepth < 0) throw new IllegalArgumentException("queueDepth must be >= 0, got " + queueDepth);
        if (apiKey != null && apiKey.isEmpty()) apiKey = null;
    }

    public static ServeConfig defaults() {
        return new ServeConfig(DEFAULT_HOST, 8000, null, 1, 16, 1 << 20, 256, 4096, 32768);
    }

    public ServeConfig withPort(int p) {
        return new ServeConfig(host, p, apiKey, maxConcurrent, queueDepth, maxBodyBytes, maxMessages, maxTokens, maxPromptTokens);
    }

    public ServeConfig withHost(String h) {
        return new ServeConfig(h, port, apiKey, maxConcurrent, queueDepth, maxBodyBytes, maxMessages, maxTokens, maxPromptTokens);
    }

    public ServeConfig withApiKey(String k) {
        return new ServeConfig(host, port, k, maxConcurrent, queueDepth, maxBodyBytes, maxMessages, maxTokens, maxPromptTokens);
    }

    public ServeConfig withQueue(int concurrent, int depth) {
        return new ServeConfig(host, port, apiKey, concurrent, depth, maxBodyBytes, maxMessages, maxTokens, maxPromptTokens);
    }

    public ServeConfig withLimits(int bodyBytes, int messages, int tokens, int promptTokens) {
        return new ServeConfig(host, port, apiKey, maxConcurrent, queueDepth, bodyBytes, messages, tokens, promptTokens);
    }
}
