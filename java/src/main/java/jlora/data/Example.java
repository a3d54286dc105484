package jlora.data;

import java.util.Objects;

/**
 * One training example as a reader produces it. Either a chat {@code conversation}, rendered
 * later with the model's chat template, or plain {@code text} that is tokenized as it is (TRL's
 * "language modeling" and standard prompt-completion rows): then {@code promptLength} is the
 * number of leading chars of {@code text} that are prompt and get no loss (0 for {@code text}
 * rows). {@code source} is the row's source field or, without one, the file name; {@code file}
 * and {@code line} say where the row came from, for reports.
 */
public record Example(Conversation conversation, String text, int promptLength,
                      String source, String file, long line) {

    public Example {
        if ((conversation == null) == (text == null)) {
            throw new IllegalArgumentException("an example holds either a conversation or text");
        }
        if (text != null && (promptLength < 0 || promptLength > text.length())) {
            throw new IllegalArgumentException("promptLength " + promptLength + " outside text of " + text.length());
        }
    }

    public static Example chat(Conversation conversation, String file, long line) {
        Objects.requireNonNull(conversation, "conversation");
        return new Example(conversation, null, 0, conversation.source(), file, line);
    }

    public static Example plain(String text, int promptLength, String source, String file, long line) {
        return new Example(null, text, promptLength, source, file, line);
    }

    public boolean isChat() { return conversation != null; }

    public String location() { return line > 0 ? file + ":" + line : file; }
}
