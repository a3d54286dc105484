package jlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import jlora.UserError;
import jlora.tensor.DType;
import jlora.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One hand-built file per rule of the safetensors reference reader (the Rust crate's
 * read_metadata / validate): the file must be refused with a UserError that names the file and
 * says which rule broke. Files are built byte by byte from the spec, not by our writer.
 */
class SafetensorsValidationTest {
    @TempDir
    Path dir;

    private static final String OK_ENTRY = "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";

    private Path put(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** Opens the file, expects a UserError naming it and containing {@code expected}. */
    private void refused(byte[] bytes, String expected) throws IOException {
        Path p = put("model-00001.safetensors", bytes);
        UserError e = assertThrows(UserError.class, () -> SafetensorsFile.open(p).close(),
                "expected refusal containing \"" + expected + "\"");
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), "message does not name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "message lacks \"" + expected + "\": " + e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, "message is not one line: " + e.getMessage());
    }

    private void refusedHeader(String json, int dataBytes, String expected) throws IOException {
        refused(RawFiles.file(json, new byte[dataBytes]), expected);
    }

    @Test
    void acceptsAMinimalValidFile() throws IOException {
        Path p = put("ok.safetensors", RawFiles.file("{" + OK_ENTRY + "}", new byte[24]));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(new TensorInfo("a", DType.F32, Shape.of(2, 3), 0, 24), f.info("a"));
        }
    }

    @Test
    void acceptsEmptyHeaderZeroSizeTensorsPaddingAndUnknownFields() throws IOException {
        String json = "{\"__metadata__\":null,\"z\":{\"dtype\":\"BF16\",\"shape\":[0,4],\"data_offsets\":[0,0],"
                + "\"extra\":{\"x\":[1,{}]}},\"y\":{\"shape\":[],\"dtype\":\"I8\",\"data_offsets\":[0,1]}}     ";
        try (SafetensorsFile f = SafetensorsFile.open(put("ok.safetensors", RawFiles.file(json, new byte[1])))) {
            assertEquals(0, f.info("z").byteSize());
            assertEquals(Shape.of(), f.info("y").shape());
            assertTrue(f.metadata().isEmpty());
        }
        // JSON whitespace before the object is allowed, as serde_json allows it
        try (SafetensorsFile f = SafetensorsFile.open(put("empty.safetensors", RawFiles.file(" \n{}     ", new byte[0])))) {
            assertTrue(f.names().isEmpty());
        }
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        refused(new byte[5], "too short");
    }

    @Test
    void headerLengthOverTheLimit() throws IOException {
        refused(RawFiles.withLength(100_000_001L, new byte[16], new byte[0]), "exceeds the limit");
        refused(RawFiles.withLength(-1L, new byte[16], new byte[0]), "18446744073709551615 exceeds the limit");
    }

    @Test
    void headerLengthPastTheEndOfTheFile() throws IOException {
        refused(RawFiles.withLength(17, "{}".getBytes(), new byte[0]), "runs past the end of the file");
    }

    @Test
    void headerNotUtf8() throws IOException {
        refused(RawFiles.file(new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'}, new byte[0]),
                "not valid UTF-8");
    }

    @Test
    void headerNotAJsonObject() throws IOException {
        refusedHeader("[1]", 0, "not a JSON object");
        refusedHeader(" \n\"a\"", 0, "not a JSON object");
        refusedHeader("\u00a0{}", 0, "not a JSON object");
        refused(RawFiles.file("", new byte[0]), "not a JSON object");
    }

    @Test
    void headerNotJson() throws IOException {
        refusedHeader("{\"a\":", 0, "not valid JSON");
        refusedHeader("{\"a\" 1}", 0, "not valid JSON");
        refusedHeader("{} {}", 0, "content after");
        refusedHeader("{}x", 0, "not valid JSON");
    }

    @Test
    void nestingBeyondTheLimit() throws IOException {
        String deep = "[".repeat(5000) + "]".repeat(5000);
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"x\":" + deep + "}}", 0, "not valid JSON");
    }

    @Test
    void metadataMustMapStringsToStrings() throws IOException {
        refusedHeader("{\"__metadata__\":{\"format\":1}}", 0, "value of 'format' is not a string");
        refusedHeader("{\"__metadata__\":[\"pt\"]}", 0, "__metadata__ is not a JSON object");
    }

    @Test
    void duplicateKeys() throws IOException {
        refusedHeader("{" + OK_ENTRY + "," + OK_ENTRY + "}", 24, "tensor 'a' twice");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
                "field 'dtype' twice");
        refusedHeader("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "key 'k' twice");
        refusedHeader("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "two __metadata__");
    }

    @Test
    void entryMustBeAnObjectWithAllThreeFields() throws IOException {
        refusedHeader("{\"a\":[1]}", 0, "tensor 'a' is not a JSON object");
        refusedHeader("{\"a\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, "has no dtype");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "has no shape");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", 4, "has no data_offsets");
        refusedHeader("{\"a\":{\"dtype\":7,\"shape\":[],\"data_offsets\":[0,4]}}", 4, "dtype is not a string");
    }

    @Test
    void unknownDtype() throws IOException {
        refusedHeader("{\"a\":{\"dtype\":\"F31\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F31'");
        refusedHeader("{\"a\":{\"dtype\":\"f32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'f32'");
        refusedHeader("{\"a\":{\"dtype\":\"NF4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1, "unknown dtype 'NF4'");
    }

    @Test
    void shapeMustHoldNonNegativeIntegers() throws IOException {
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,24]}}", 24, "negative");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0,3],\"data_offsets\":[0,24]}}", 24, "not a whole number");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, "not a whole number");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "shape is not a JSON array");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8,
                "too large");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "9".repeat(40) + "],\"data_offsets\":[0,8]}}", 8,
                "not valid JSON");
    }

    @Test
    void elementCountOverflow() throws IOException {
        long big = 1L << 40;
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[" + big + "," + big + "],\"data_offsets\":[0,8]}}", 8,
                "too large (element count overflows)");
        // numel fits in a long but numel * 64 bits does not
        refusedHeader("{\"a\":{\"dtype\":\"F64\",\"shape\":[" + (1L << 59) + "],\"data_offsets\":[0,8]}}", 8,
                "element count overflows");
    }

    @Test
    void dataOffsetsMustBeTwoOrderedNumbers() throws IOException {
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4,8]}}", 4, "has 3 numbers");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,4]}}", 8, "end before they begin");
        refusedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[-4,0]}}", 4, "negative");
    }

    @Test
    void byteLengthMustEqualNumelTimesDtypeSize() throws IOException {
        refusedHeader("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
                "tensor 'x' needs 24 bytes (F32 [2, 3]) but data_offsets span 20");
    }

    @Test
    void offsetsMustStayInsideTheDataArea() throws IOException {
        refusedHeader("{" + OK_ENTRY + "}", 20, "run past the end of the data area (20 bytes)");
    }

    @Test
    void tensorsMustNotOverlap() throws IOException {
        refusedHeader("{" + OK_ENTRY + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}}", 28,
                "'a' [0, 24) and 'b' [20, 28) overlap");
    }

    @Test
    void tensorsMustLeaveNoGap() throws IOException {
        refusedHeader("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[28,36]}," + OK_ENTRY + "}", 36,
                "4 bytes of the data area before tensor 'b'");
        refusedHeader("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                "4 bytes of the data area before tensor 'b'");
    }

    @Test
    void dataAreaMustHoldNothingAfterTheLastTensor() throws IOException {
        refusedHeader("{" + OK_ENTRY + "}", 30, "6 bytes at the end of the data area");
    }

    @Test
    void hostileNamesAreQuotedOnOneLine() throws IOException {
        refusedHeader("{\"bad\\nname" + "x".repeat(500) + "\":{\"dtype\":\"Q\",\"shape\":[],\"data_offsets\":[0,0]}}", 0,
                "tensor 'bad\\u000anamexxx");
    }

    @Test
    void missingFileOrDirectory() {
        Path missing = dir.resolve("nope.safetensors");
        UserError e = assertThrows(UserError.class, () -> SafetensorsFile.open(missing));
        assertTrue(e.getMessage().contains("nope.safetensors: no such file"), e.getMessage());
        UserError d = assertThrows(UserError.class, () -> SafetensorsFile.open(dir));
        assertTrue(d.getMessage().contains("is a directory"), d.getMessage());
        UserError dev = assertThrows(UserError.class, () -> SafetensorsFile.open(Path.of("/dev/null")));
        assertTrue(dev.getMessage().contains("not a regular file"), dev.getMessage());
    }
}
