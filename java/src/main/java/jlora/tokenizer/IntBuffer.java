package jlora.tokenizer;

import java.util.Arrays;

/** A growable int array: token ids and span triples without boxing. */
final class IntBuffer {
    int[] data;
    int size;

    IntBuffer(int capacity) {
        data = new int[Math.max(capacity, 4)];
    }

    void add(int v) {
        if (size == data.length) data = Arrays.copyOf(data, size * 2);
        data[size++] = v;
    }

    void add(int a, int b, int c) {
        if (size + 3 > data.length) data = Arrays.copyOf(data, Math.max(size * 2, size + 3));
        data[size] = a;
        data[size + 1] = b;
        data[size + 2] = c;
        size += 3;
    }

    int get(int i) {
        return data[i];
    }

    void clear() {
        size = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(data, size);
    }
}
