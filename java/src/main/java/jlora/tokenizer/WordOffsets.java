package jlora.tokenizer;

/**
 * Maps a word's token ranges (in model units: UTF-8 bytes or chars, plus a prefix unit) back
 * to char ranges of the caller's text via the normalized text's alignment.
 */
final class WordOffsets {
    private WordOffsets() {}

    static void append(Normalized norm, int ws, int we, boolean prefix, BpeModel.Mode mode,
                       BpeModel.Word word, IntBuffer starts, IntBuffer ends) {
        int pfx = prefix ? 1 : 0;
        int[] charOfUnit = null; // byte-level: unit -> char index of the char holding that byte
        int[] charEndOfUnit = null;
        if (mode == BpeModel.Mode.BYTE_LEVEL) {
            int nb = 0;
            for (int i = ws; i < we; i++) nb += utf8Len(norm.text, i);
            charOfUnit = new int[nb + 1];
            charEndOfUnit = new int[nb + 1];
            int b = 0;
            for (int i = ws; i < we; ) {
                int cl = Character.isHighSurrogate(norm.text.charAt(i)) && i + 1 < we
                        && Character.isLowSurrogate(norm.text.charAt(i + 1)) ? 2 : 1;
                int bl = cl == 2 ? 4 : utf8Len(norm.text, i);
                for (int k = 0; k < bl; k++) {
                    charOfUnit[b] = i;
                    charEndOfUnit[b] = i + cl;
                    b++;
                }
                i += cl;
            }
        }
        for (int t = 0; t < word.ids().length; t++) {
            int u0 = word.starts()[t] - pfx;
            int u1 = word.ends()[t] - pfx;
            int a;
            int z;
            if (u1 <= 0) {
                a = z = ws; // only the added prefix
            } else if (charOfUnit != null) {
                a = charOfUnit[Math.max(u0, 0)];
                z = charEndOfUnit[u1 - 1];
            } else {
                a = ws + Math.max(u0, 0);
                z = ws + u1;
            }
            long r = norm.origRange(a, z);
            starts.add((int) (r >>> 32));
            ends.add((int) r);
        }
    }

    private static int utf8Len(String s, int i) {
        char c = s.charAt(i);
        if (c < 0x80) return 1;
        if (c < 0x800) return 2;
        if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) return 2;
        if (Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1))) return 2;
        return 3;
    }
}
