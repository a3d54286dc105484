package jlora.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's reversible byte-to-char map: printable Latin-1 bytes map to themselves, the other
 * 68 bytes (controls, space, 0x7F-0xA0, 0xAD) to U+0100.. in byte order, so every byte
 * sequence becomes a string of printable chars the BPE vocabulary is written in.
 */
final class ByteLevel {
    static final char[] BYTE_TO_CHAR = new char[256];
    /** Inverse map, indexed by char; -1 where the char is not a byte-level char. */
    static final int[] CHAR_TO_BYTE = new int[324];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /**
     * UTF-8 bytes of text[from, to) into out (grown as needed); returns the byte count.
     * A lone surrogate encodes as U+FFFD, as TextEncoder and Rust's lossy conversion do.
     */
    static int utf8(CharSequence text, int from, int to, byte[][] out) {
        byte[] buf = out[0];
        if (buf.length < (to - from) * 3 + 4) buf = out[0] = new byte[(to - from) * 3 + 4];
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                buf[n++] = (byte) c;
            } else if (c < 0x800) {
                buf[n++] = (byte) (0xC0 | (c >> 6));
                buf[n++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(text.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, text.charAt(++i));
                buf[n++] = (byte) (0xF0 | (cp >> 18));
                buf[n++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                buf[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                if (Character.isSurrogate(c)) c = '\uFFFD';
                buf[n++] = (byte) (0xE0 | (c >> 12));
                buf[n++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                buf[n++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return n;
    }
}
