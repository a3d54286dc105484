package jlora.tokenizer;

/**
 * Direct-mapped cache of BPE results per word, looked up by a char range of the text without
 * making a substring; a colliding word simply replaces the slot's entry. Threads share it
 * without locks: a slot holds an immutable entry (final fields, safely published), so a reader
 * sees either a whole entry or another word's (rejected by the key compare) or none.
 */
final class WordCache {
    private record Entry(String key, boolean prefix, BpeModel.Word word) {}

    private static final int BITS = 17;
    private final Entry[] slots = new Entry[1 << BITS];

    static int hash(String text, int start, int end, boolean prefix) {
        int h = prefix ? 0x5bd1e995 : 0;
        for (int i = start; i < end; i++) h = 31 * h + text.charAt(i);
        return (h * 0x9E3779B1) >>> (32 - BITS);
    }

    BpeModel.Word get(String text, int start, int end, boolean prefix, int hash) {
        Entry e = slots[hash];
        if (e == null || e.prefix != prefix || e.key.length() != end - start) return null;
        return e.key.regionMatches(0, text, start, end - start) ? e.word : null;
    }

    void put(String key, boolean prefix, int hash, BpeModel.Word word) {
        slots[hash] = new Entry(key, prefix, word);
    }
}
