package jlora.data;

import jlora.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * XLSX built here from SpreadsheetML parts (ECMA-376 Part 1, §18.2 workbook, §18.3 sheets,
 * §18.4 shared strings) the way Excel writes them. Oracle: the cell texts put into the XML.
 */
class XlsxReaderTest {
    @TempDir Path dir;

    private static final String NS = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
            + "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";

    /** Two sheets: "설명" (notes, first) and "번역" (the pairs, shared strings with rich runs and a phonetic run). */
    private Path workbook() throws Exception {
        String workbook = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><workbook " + NS + "><sheets>"
                + "<sheet name=\"설명\" sheetId=\"1\" r:id=\"rId1\"/><sheet name=\"번역\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";
        String rels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                + "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet2.xml\"/>"
                + "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"/xl/worksheets/sheet1.xml\"/>"
                + "</Relationships>";
        String shared = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst " + NS + " count=\"5\" uniqueCount=\"5\">"
                + "<si><t>원문</t></si><si><t>번역문</t></si>"
                + "<si><r><rPr><b/></rPr><t>안녕</t></r><r><t xml:space=\"preserve\">하세요 &amp; 반가워요</t></r></si>"
                + "<si><t>Hello &amp; nice to meet you</t></si>"
                + "<si><t>東京</t><rPh sb=\"0\" eb=\"2\"><t>とうきょう</t></rPh></si></sst>";
        String notes = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet " + NS + "><sheetData>"
                + "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>text</t></is></c></row>"
                + "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>이 시트는 설명입니다.</t></is></c></row></sheetData></worksheet>";
        String pairs = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet " + NS + "><sheetData>"
                + "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"C1\" t=\"s\"><v>1</v></c></row>"   // B is empty
                + "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>2</v></c><c r=\"B2\"><v>3.5</v></c><c r=\"C2\" t=\"s\"><v>3</v></c></row>"
                + "<row r=\"4\"><c r=\"A4\" t=\"s\"><v>4</v></c><c r=\"C4\" t=\"inlineStr\"><is><t>Tokyo</t></is></c></row>"
                + "<row r=\"5\"><c r=\"A5\" t=\"str\"><f>CONCAT(\"물\",\"\")</f><v>물</v></c><c r=\"C5\" t=\"inlineStr\"><is><t>water</t></is></c></row>"
                + "</sheetData></worksheet>";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (var part : List.of(
                    Map.entry("[Content_Types].xml", "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>"),
                    Map.entry("xl/workbook.xml", workbook), Map.entry("xl/_rels/workbook.xml.rels", rels),
                    Map.entry("xl/sharedStrings.xml", shared), Map.entry("xl/worksheets/sheet1.xml", notes),
                    Map.entry("xl/worksheets/sheet2.xml", pairs))) {
                zip.putNextEntry(new ZipEntry(part.getKey()));
                zip.write(part.getValue().getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
        return Collected.writeBytes(dir, "kor_eng.xlsx", bytes.toByteArray());
    }

    @Test
    void secondSheetByNameWithSharedRichAndInlineStrings() throws Exception {
        Path file = workbook();
        ReaderOptions byName = ReaderOptions.DEFAULTS.withSheet("번역").withColumns(Map.of("input", "원문", "output", "번역문"));
        Collected c = Collected.read(file, byName);
        assertEquals(0, c.report().invalid(), c.report().summary());
        assertEquals(List.of(
                List.of(Message.user("안녕하세요 & 반가워요"), Message.assistant("Hello & nice to meet you")),
                List.of(Message.user("東京"), Message.assistant("Tokyo")),
                List.of(Message.user("물"), Message.assistant("water"))),
                c.examples().stream().map(e -> e.conversation().messages()).toList(), "rich runs joined, phonetic run left out");
        assertEquals(List.of(2L, 4L, 5L), c.examples().stream().map(Example::line).toList(), "line = Excel row number");

        Collected byIndex = Collected.read(file, byName.withSheet("2"));
        assertEquals(c.examples(), byIndex.examples());
    }

    @Test
    void firstSheetByDefaultAndUnknownSheetNamesTheChoices() throws Exception {
        Path file = workbook();
        assertEquals("이 시트는 설명입니다.", Collected.read(file).only().text());
        UserError e = assertThrows(UserError.class, () -> Collected.read(file, ReaderOptions.DEFAULTS.withSheet("Sheet3")));
        assertTrue(e.getMessage().contains("[설명, 번역]"), e.getMessage());
    }

    @Test
    void columnLettersAreBijectiveBase26() {
        assertEquals(List.of(0, 25, 26, 27, 51, 52, 701, 702), List.of("A1", "Z9", "AA1", "AB2", "AZ3", "BA4", "ZZ5", "AAA6").stream()
                .map(XlsxReader::column).toList());
    }
}
