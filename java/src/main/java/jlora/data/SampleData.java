package jlora.data;

import jlora.UserError;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The Korean sample set bundled in the jar under {@code jlora/data/sample/}, written for this
 * project: multi-turn chat, tool calling (TRL format) and KorQuAD-v1-layout QA. It feeds the
 * tiny embedded training default and the tests.
 */
public final class SampleData {
    public static final String CHAT = "chat_ko.jsonl";
    public static final String TOOLS = "tools_ko.jsonl";
    public static final String QA = "qa_korquad_ko.json";
    public static final List<String> ALL = List.of(CHAT, TOOLS, QA);

    private SampleData() {}

    /** A readable path to a bundled file, inside the jar's file system when run from a jar. */
    public static Path path(String name) {
        URL url = SampleData.class.getResource("/jlora/data/sample/" + name);
        if (url == null) throw new UserError("bundled sample " + name + " is missing from the jar; rebuild jlora");
        try {
            var uri = url.toURI();
            if (uri.getScheme().equals("jar")) {
                try {
                    FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException ignored) {
                    // opened by an earlier call
                }
            }
            return Path.of(uri);
        } catch (URISyntaxException | IOException e) {
            throw new UserError("cannot open bundled sample " + name + ": " + e.getMessage(), e);
        }
    }
}
