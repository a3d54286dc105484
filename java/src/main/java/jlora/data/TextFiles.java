package jlora.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PushbackInputStream;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** UTF-8 text files as data files come: with or without a BOM (Excel writes one into CSV). */
final class TextFiles {
    private TextFiles() {}

    static BufferedReader open(Path file) throws IOException {
        return new BufferedReader(new InputStreamReader(skipBom(Files.newInputStream(file)),
                StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPLACE)
                        .onUnmappableCharacter(CodingErrorAction.REPLACE)), 1 << 16);
    }

    static InputStream skipBom(InputStream raw) throws IOException {
        PushbackInputStream in = new PushbackInputStream(raw, 3);
        byte[] head = in.readNBytes(3);
        boolean bom = head.length == 3 && (head[0] & 0xFF) == 0xEF && (head[1] & 0xFF) == 0xBB && (head[2] & 0xFF) == 0xBF;
        if (!bom && head.length > 0) in.unread(head);
        return in;
    }
}
