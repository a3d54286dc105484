package jlora.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;

/**
 * Parses and validates a safetensors header (the JSON after the 8-byte length). The rules are
 * those of the reference reader, the {@code safetensors} Rust crate ({@code read_metadata} and
 * {@code Metadata::validate}): header length under 100 MB and inside the file, a UTF-8 JSON
 * object, {@code __metadata__} string to string, every tensor with a known dtype,
 * non-negative shape and {@code data_offsets}, byte length = numel × dtype size, and the tensors
 * tiling the data area exactly (sorted by offset: no gap, no overlap, nothing left over).
 * Stricter than the crate in one way: duplicate keys are refused instead of last-one-wins, since
 * two readers could then see different tensors in one file.
 */
final class SafetensorsHeader {
    /** The crate's MAX_HEADER_SIZE: a longer header is refused before any of it is read. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    static final String METADATA_KEY = "__metadata__";

    /** Entries in header order, and the {@code __metadata__} map (empty when absent). */
    record Parsed(SequencedMap<String, TensorInfo> tensors, Map<String, String> metadata) {}

    // The header's depth is 3; anything deeper sits in an ignored field and needs no more than
    // this. Numbers longer than 32 digits cannot be valid sizes and would cost BigInteger work.
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(64)
                    .maxNumberLength(32)
                    .maxStringLength((int) MAX_HEADER_BYTES)
                    .maxNameLength((int) MAX_HEADER_BYTES)
                    .maxDocumentLength(MAX_HEADER_BYTES)
                    .build())
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .build();

    private SafetensorsHeader() {}

    /** Checks the u64 header length read from the first 8 bytes against the file size. */
    static void checkLength(String file, long fileSize, long headerLength) {
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw bad(file, "header length " + Long.toUnsignedString(headerLength) + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes; the file is corrupt or not a safetensors file");
        }
        if (headerLength > fileSize - 8) {
            throw bad(file, "header length " + headerLength + " runs past the end of the file (" + fileSize
                    + " bytes); the file is truncated or not a safetensors file");
        }
    }

    static Parsed parse(String file, byte[] header, long dataSize) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(header))
                    .toString();
        } catch (CharacterCodingException e) {
            throw bad(file, "header is not valid UTF-8 text; the file is corrupt or not a safetensors file");
        }
        // The crate lets serde_json skip leading JSON whitespace (its '{' check is still disabled).
        int first = 0;
        while (first < text.length() && " \t\n\r".indexOf(text.charAt(first)) >= 0) first++;
        if (first == text.length() || text.charAt(first) != '{') {
            throw bad(file, "header is not a JSON object (it must start with '{'); the file is corrupt or not a"
                    + " safetensors file");
        }
        Parsed parsed;
        try (JsonParser p = JSON.createParser(text)) {
            parsed = new Reader(file, p, dataSize).read();
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw bad(file, "header is not valid JSON" + where + ": " + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw bad(file, "header could not be parsed: " + oneLine(e.getMessage()));
        }
        checkLayout(file, parsed.tensors().values(), dataSize);
        return parsed;
    }

    /** Streams the JSON so a hostile header costs no more memory than its entries. */
    private record Reader(String file, JsonParser p, long dataSize) {
        Parsed read() throws IOException {
            SequencedMap<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = Map.of();
            boolean sawMetadata = false;
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad(file, "header is not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                p.nextToken();
                if (key.equals(METADATA_KEY)) {
                    if (sawMetadata) throw bad(file, "header has two " + METADATA_KEY + " entries");
                    sawMetadata = true;
                    metadata = readMetadata();
                } else {
                    if (tensors.containsKey(key)) throw bad(file, "header names tensor " + quote(key) + " twice");
                    tensors.put(key, readEntry(key));
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw bad(file, "header has content after its JSON object");
            }
            return new Parsed(tensors, metadata);
        }

        private Map<String, String> readMetadata() throws IOException {
            if (p.currentToken() == JsonToken.VALUE_NULL) return Map.of();
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw bad(file, METADATA_KEY + " is not a JSON object of strings");
            }
            Map<String, String> out = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                if (p.nextToken() != JsonToken.VALUE_STRING) {
                    throw bad(file, METADATA_KEY + " value of " + quote(key) + " is not a string");
                }
                if (out.put(key, p.getText()) != null) {
                    throw bad(file, METADATA_KEY + " has key " + quote(key) + " twice");
                }
            }
            return Collections.unmodifiableMap(out);
        }

        private TensorInfo readEntry(String name) throws IOException {
            String what = "tensor " + quote(name);
            if (p.currentToken() != JsonToken.START_OBJECT) throw bad(file, what + " is not a JSON object");
            String dtypeName = null;
            long[] dims = null;
            long[] offsets = null;
            Set<String> fields = new HashSet<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                if (!fields.add(field)) throw bad(file, what + " has field " + quote(field) + " twice");
                JsonToken value = p.nextToken();
                switch (field) {
                    case "dtype" -> {
                        if (value != JsonToken.VALUE_STRING) throw bad(file, what + " dtype is not a string");
                        dtypeName = p.getText();
                    }
                    case "shape" -> dims = readSizes(what + " shape");
                    case "data_offsets" -> offsets = readSizes(what + " data_offsets");
                    default -> p.skipChildren(); // the crate ignores unknown fields too
                }
            }
            if (dtypeName == null) throw bad(file, what + " has no dtype");
            if (dims == null) throw bad(file, what + " has no shape");
            if (offsets == null) throw bad(file, what + " has no data_offsets");
            String n = dtypeName;
            // Exact match: the crate's dtype names are case-sensitive.
            DType dtype = DType.fromSafetensors(n).filter(d -> d.name().equals(n)).orElseThrow(() -> bad(file,
                    what + " has unknown dtype " + quote(n) + " (known: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL"
                            + " F8_E4M3 F8_E5M2)"));
            if (offsets.length != 2) {
                throw bad(file, what + " data_offsets must be [begin, end] but has " + offsets.length + " numbers");
            }
            long begin = offsets[0];
            long end = offsets[1];
            if (begin > end) {
                throw bad(file, what + " data_offsets [" + begin + ", " + end + "] end before they begin");
            }
            Shape shape = Shape.of(dims);
            long bytes;
            try {
                bytes = dtype.byteSize(shape.numel());
            } catch (ArithmeticException e) {
                throw bad(file, what + " shape " + shape + " is too large (element count overflows)");
            }
            if (end - begin != bytes) {
                throw bad(file, what + " needs " + bytes + " bytes (" + dtype + " " + shape + ") but data_offsets span "
                        + (end - begin));
            }
            if (end > dataSize) {
                throw bad(file, what + " data_offsets [" + begin + ", " + end + "] run past the end of the data area ("
                        + dataSize + " bytes); the file is truncated");
            }
            return new TensorInfo(name, dtype, shape, begin, end);
        }

        /** A JSON array of non-negative integers that fit in a long (the crate's usize). */
        private long[] readSizes(String what) throws IOException {
            if (p.currentToken() != JsonToken.START_ARRAY) throw bad(file, what + " is not a JSON array");
            List<Long> out = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                switch (p.currentToken()) {
                    case VALUE_NUMBER_INT -> { }
                    case VALUE_STRING -> throw bad(file, what + " holds a string, not a whole number");
                    case START_ARRAY, START_OBJECT -> throw bad(file, what + " holds a nested "
                            + (p.currentToken() == JsonToken.START_ARRAY ? "array" : "object") + ", not a whole number");
                    default -> throw bad(file, what + " holds " + oneLine(p.getText()) + ", not a whole number");
                }
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    throw bad(file, what + " holds " + p.getText() + ", too large");
                }
                long v = p.getLongValue();
                if (v < 0) throw bad(file, what + " holds " + v + ", a negative number");
                out.add(v);
            }
            long[] a = new long[out.size()];
            for (int i = 0; i < a.length; i++) a[i] = out.get(i);
            return a;
        }
    }

    /** Sorted by offset, each tensor must begin where the previous ended, the last at the end. */
    private static void checkLayout(String file, Collection<TensorInfo> entries, long dataSize) {
        List<TensorInfo> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long at = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < at) {
                throw bad(file, "tensors " + quote(prev.name()) + " [" + prev.begin() + ", " + prev.end() + ") and "
                        + quote(t.name()) + " [" + t.begin() + ", " + t.end() + ") overlap in the data area");
            }
            if (t.begin() > at) {
                throw bad(file, (t.begin() - at) + " bytes of the data area before tensor " + quote(t.name())
                        + " (offset " + at + " to " + t.begin() + ") belong to no tensor");
            }
            at = t.end();
            prev = t;
        }
        if (at != dataSize) {
            throw bad(file, (dataSize - at) + " bytes at the end of the data area (offset " + at + " to " + dataSize
                    + ") belong to no tensor; the file is corrupt");
        }
    }

    static UserError bad(String file, String problem) {
        return new UserError(file + ": " + problem);
    }

    /** A name from the file, quoted, cut short and with control characters escaped. */
    static String quote(String s) {
        return "'" + oneLine(s.length() > 80 ? s.substring(0, 77) + "..." : s) + "'";
    }

    /** Text from the file or the parser made safe for a one-line message: escaped and short. */
    private static String oneLine(String s) {
        if (s == null) return "";
        if (s.length() > 200) s = s.substring(0, 197) + "...";
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (Character.isISOControl(c)) b.append(String.format("\\u%04x", c));
            else b.appendCodePoint(c);
        });
        return b.toString();
    }
}
