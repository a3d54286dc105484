package jlora.serve;

import jlora.infer.ChatRequest;

/**
 * A validated request: what to generate and how to answer. {@code textCompletion} marks
 * /v1/completions (answered as text_completion objects); {@code includeUsage} is
 * stream_options.include_usage.
 */
record ParsedRequest(ChatRequest chat, boolean stream, boolean includeUsage, boolean textCompletion) {
}
