package jlora.data;

import com.fasterxml.jackson.databind.JsonNode;
import jlora.UserError;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which fields a record carries, each a format the seed projects and TRL use. Detected from
 * the first record's keys unless the user names one; later records that lack the fields are
 * reported as {@link Problem.Kind#MISSING_FIELD}.
 */
public enum RecordShape {
    /** {@code messages} (OpenAI / TRL, with optional {@code tools}) or ShareGPT {@code conversations} with from/value. */
    MESSAGES,
    /** TRL prompt-completion: strings (plain text, loss on the completion) or message lists (chat). */
    PROMPT_COMPLETION,
    /** Alpaca {@code instruction}/{@code input}/{@code output}, or {@code input}/{@code output} alone. */
    INSTRUCTION,
    /** Plain language-model text, tokenized without a chat template. */
    TEXT,
    /** KorQuAD v1 question records: {@code context}, {@code question}, {@code answers[0].text}. */
    KORQUAD;

    public static RecordShape parse(String name) {
        String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        if (n.equals("ALPACA") || n.equals("INPUT_OUTPUT")) return INSTRUCTION;
        if (n.equals("CHAT") || n.equals("SHAREGPT") || n.equals("TOOLS")) return MESSAGES;
        try {
            return valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new UserError("unknown record format \"" + name + "\"; use one of messages, prompt_completion, instruction, text, korquad");
        }
    }

    /** The shape of a record, from its keys, or null when none fits. */
    public static RecordShape detect(JsonNode record) {
        if (record == null || !record.isObject()) return null;
        if (record.has("messages") || record.has("conversations")) return MESSAGES;
        if (record.has("prompt") && record.has("completion")) return PROMPT_COMPLETION;
        if (record.has("context") && record.has("question")) return KORQUAD;
        if (record.has("output") && (record.has("instruction") || record.has("input"))) return INSTRUCTION;
        if (record.has("text")) return TEXT;
        return null;
    }

    static RecordShape detectOrFail(JsonNode record, String where) {
        RecordShape s = detect(record);
        if (s != null) return s;
        List<String> keys = new ArrayList<>();
        record.fieldNames().forEachRemaining(keys::add);
        throw new UserError(where + ": cannot tell the record format from the keys " + keys
                + "; expected messages, prompt+completion, instruction/input+output, text, or context+question (KorQuAD). "
                + "Name the format, or map columns to these names");
    }
}
