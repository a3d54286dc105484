package jlora.tokenizer;

import jlora.UserError;
import jlora.data.Conversation;
import jlora.data.Message;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where the template comes from, by transformers' rules (the oracle): chat_template.jinja
 * beats tokenizer_config.json; a list of named templates gives "tool_use" when tools are
 * passed and "default" otherwise; no template at all gives ChatML; special tokens may be
 * strings or AddedToken dicts. Broken inputs are UserErrors that name the file.
 */
class ChatTemplateLoadTest {
    private static final Conversation CHAT = Conversation.of(Message.user("안녕"));

    private static void write(Path dir, String name, String text) throws IOException {
        Files.writeString(dir.resolve(name), text);
    }

    @Test
    void stringTemplateWithAddedTokenDictBos(@TempDir Path dir) throws IOException {
        write(dir, "tokenizer_config.json", "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false},"
                + " \"eos_token\": \"</s>\", \"chat_template\": \"{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}\"}");
        assertEquals("<s>안녕</s>", ChatTemplate.load(dir).render(CHAT, false, Map.of()));
    }

    @Test
    void namedTemplatesPickToolUseOnlyWithTools(@TempDir Path dir) throws IOException {
        write(dir, "tokenizer_config.json", "{\"chat_template\": [{\"name\": \"default\", \"template\": \"D\"},"
                + " {\"name\": \"tool_use\", \"template\": \"T{{ tools | length }}\"}]}");
        ChatTemplate t = ChatTemplate.load(dir);
        assertEquals("D", t.render(CHAT, false, Map.of()));
        assertEquals("T1", t.render(CHAT.withTools(List.of(Map.of("type", "function"))), false, Map.of()));
    }

    @Test
    void jinjaFileWinsOverTheConfig(@TempDir Path dir) throws IOException {
        write(dir, "tokenizer_config.json", "{\"chat_template\": \"from config\"}");
        write(dir, "chat_template.jinja", "from file {{ messages[0].content }}\n");
        ChatTemplate t = ChatTemplate.load(dir);
        assertEquals("from file 안녕", t.render(CHAT, false, Map.of()), "one trailing newline dropped, as Jinja2 does");
        assertTrue(t.origin().endsWith("chat_template.jinja"), t.origin());
    }

    @Test
    void noTemplateMeansChatML(@TempDir Path dir) throws IOException {
        write(dir, "tokenizer_config.json", "{\"eos_token\": \"</s>\"}");
        assertEquals("<|im_start|>user\n안녕<|im_end|>\n<|im_start|>assistant\n",
                ChatTemplate.load(dir).render(CHAT, true, Map.of()));
    }

    @Test
    void brokenFilesAreUserErrorsNamingTheFile(@TempDir Path dir) throws IOException {
        write(dir, "tokenizer_config.json", "{\"chat_template\": ");
        UserError bad = assertThrows(UserError.class, () -> ChatTemplate.load(dir));
        assertTrue(bad.getMessage().contains("tokenizer_config.json"), bad.getMessage());

        write(dir, "tokenizer_config.json", "{\"chat_template\": \"{% for m in messages %}{{ m.content }}\"}");
        UserError syntax = assertThrows(UserError.class, () -> ChatTemplate.load(dir).render(CHAT, false, Map.of()));
        assertTrue(syntax.getMessage().contains("tokenizer_config.json"), syntax.getMessage());
    }
}
