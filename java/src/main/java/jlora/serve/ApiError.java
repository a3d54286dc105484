package jlora.serve;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request the server refuses, in OpenAI's error shape
 * {@code {"error": {"message", "type", "param", "code"}}}. The type strings are the ones the
 * OpenAI API and its client libraries use to pick an exception class.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError invalid(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    static ApiError invalid(String message, String param, String code) {
        return new ApiError(400, "invalid_request_error", message, param, code);
    }

    static ApiError unauthorized() {
        return new ApiError(401, "invalid_request_error",
                "missing or wrong API key: send the header 'Authorization: Bearer <key>' with the key the server was started with",
                null, "invalid_api_key");
    }

    static ApiError notFound(String path) {
        return new ApiError(404, "invalid_request_error", "no such endpoint: " + path
                + " (this server has POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /)",
                null, "not_found");
    }

    static ApiError methodNotAllowed(String method, String path, String allowed) {
        return new ApiError(405, "invalid_request_error", method + " is not allowed on " + path + "; use " + allowed,
                null, "method_not_allowed");
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", "request body is larger than " + limit
                + " bytes; send a shorter conversation or restart the server with a higher body limit", null, "request_too_large");
    }

    static ApiError queueFull(int depth) {
        return new ApiError(429, "rate_limit_exceeded", "the server is busy: all generation slots and " + depth
                + " queue places are taken; retry after a moment", null, "queue_full");
    }

    static ApiError shuttingDown() {
        return new ApiError(503, "server_error", "the server is shutting down and takes no new requests", null, "shutting_down");
    }

    static ApiError internal(String what) {
        return new ApiError(500, "server_error", "internal error: " + what, null, null);
    }

    /** How a failure during generation reaches the client: a refused conversation is the client's to fix, anything else is ours. */
    static ApiError from(RuntimeException e) {
        return switch (e) {
            case ApiError a -> a;
            case jlora.UserError u -> invalid(u.getMessage(), null);
            default -> internal(e.toString());
        };
    }

    Map<String, Object> body() {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("message", getMessage());
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return Map.of("error", e);
    }
}
