package jlora.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import jlora.UserError;

import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * XLSX (ECMA-376 SpreadsheetML): a zip of XML parts, read with java.util.zip and StAX.
 * {@code xl/workbook.xml} lists the sheets (name, r:id), {@code xl/_rels/workbook.xml.rels}
 * maps r:id to the sheet part, {@code xl/sharedStrings.xml} holds the strings cells of type
 * {@code s} point at. Cells of type {@code inlineStr} carry their text in {@code <is>}, type
 * {@code str} (formula result) / {@code n} / {@code b} in {@code <v>}. The first non-empty row
 * is the header; each later row is one record whose line is its Excel row number. Numbers come
 * out as stored (dates as Excel serial numbers); only the shared-string table is held in memory.
 */
final class XlsxReader implements DatasetReader {
    private static final String REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    private final String sheet;

    /** @param sheet a sheet name or 1-based index; null = the first sheet */
    XlsxReader(String sheet) { this.sheet = sheet; }

    @Override
    public void read(Path file, RecordSink sink) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String part = sheetPart(zip, file);
            List<String> shared = sharedStrings(zip);
            ZipEntry entry = zip.getEntry(part);
            if (entry == null) throw new UserError(file + ": sheet part " + part + " is missing; re-save the workbook in Excel or LibreOffice");
            try (InputStream in = zip.getInputStream(entry)) {
                readSheet(xml(in), shared, sink);
            }
        } catch (java.util.zip.ZipException e) {
            throw new UserError(file + ": not an XLSX workbook (" + e.getMessage() + "); save it as .xlsx (Excel 2007+), not .xls", e);
        } catch (XMLStreamException e) {
            throw new UserError(file + ": broken XML inside the workbook (" + e.getMessage() + "); re-save it in Excel or LibreOffice", e);
        }
    }

    private String sheetPart(ZipFile zip, Path file) throws IOException, XMLStreamException {
        Map<String, String> sheets = new LinkedHashMap<>();      // name -> r:id, in workbook order
        try (InputStream in = open(zip, "xl/workbook.xml", file)) {
            XMLStreamReader x = xml(in);
            while (x.hasNext()) {
                if (x.next() == XMLStreamConstants.START_ELEMENT && x.getLocalName().equals("sheet")) {
                    sheets.put(x.getAttributeValue(null, "name"), x.getAttributeValue(REL_NS, "id"));
                }
            }
        }
        if (sheets.isEmpty()) throw new UserError(file + ": the workbook lists no sheets");
        List<String> names = new ArrayList<>(sheets.keySet());
        String chosen;
        if (sheet == null) chosen = names.getFirst();
        else if (sheets.containsKey(sheet)) chosen = sheet;
        else if (sheet.matches("\\d+") && Integer.parseInt(sheet) >= 1 && Integer.parseInt(sheet) <= names.size()) chosen = names.get(Integer.parseInt(sheet) - 1);
        else throw new UserError(file + ": no sheet \"" + sheet + "\"; the sheets are " + names + " (give a name or a 1-based index)");

        String rid = sheets.get(chosen);
        try (InputStream in = open(zip, "xl/_rels/workbook.xml.rels", file)) {
            XMLStreamReader x = xml(in);
            while (x.hasNext()) {
                if (x.next() == XMLStreamConstants.START_ELEMENT && x.getLocalName().equals("Relationship")
                        && rid.equals(x.getAttributeValue(null, "Id"))) {
                    String target = x.getAttributeValue(null, "Target");
                    // Targets are relative to xl/ unless absolute within the package.
                    return target.startsWith("/") ? target.substring(1) : "xl/" + target;
                }
            }
        }
        throw new UserError(file + ": sheet \"" + chosen + "\" has no part in workbook.xml.rels; re-save the workbook");
    }

    private static List<String> sharedStrings(ZipFile zip) throws IOException, XMLStreamException {
        List<String> out = new ArrayList<>();
        ZipEntry e = zip.getEntry("xl/sharedStrings.xml");
        if (e == null) return out;
        try (InputStream in = zip.getInputStream(e)) {
            XMLStreamReader x = xml(in);
            StringBuilder si = null;
            int phonetic = 0;                       // text in <rPh> runs is a reading aid, not content
            while (x.hasNext()) {
                int ev = x.next();
                if (ev == XMLStreamConstants.START_ELEMENT) {
                    switch (x.getLocalName()) {
                        case "si" -> si = new StringBuilder();
                        case "rPh" -> phonetic++;
                        case "t" -> { if (si != null && phonetic == 0) si.append(x.getElementText()); }
                        default -> { }
                    }
                } else if (ev == XMLStreamConstants.END_ELEMENT) {
                    if (x.getLocalName().equals("si")) { out.add(si.toString()); si = null; }
                    else if (x.getLocalName().equals("rPh")) phonetic--;
                }
            }
        }
        return out;
    }

    private static void readSheet(XMLStreamReader x, List<String> shared, RecordSink sink) throws XMLStreamException {
        List<String> header = null;
        TreeMap<Integer, String> cells = null;
        long rowNumber = 0;
        int nextCol = 0;
        String ref = null, type = null;
        StringBuilder value = null;
        while (x.hasNext()) {
            int ev = x.next();
            if (ev == XMLStreamConstants.START_ELEMENT) {
                switch (x.getLocalName()) {
                    case "row" -> {
                        String r = x.getAttributeValue(null, "r");
                        rowNumber = r != null ? Long.parseLong(r) : rowNumber + 1;
                        cells = new TreeMap<>();
                        nextCol = 0;
                    }
                    case "c" -> {
                        ref = x.getAttributeValue(null, "r");
                        type = x.getAttributeValue(null, "t");
                        value = new StringBuilder();
                    }
                    case "v", "t" -> { if (value != null) value.append(x.getElementText()); }
                    default -> { }
                }
            } else if (ev == XMLStreamConstants.END_ELEMENT) {
                switch (x.getLocalName()) {
                    case "c" -> {
                        int col = ref != null ? column(ref) : nextCol;
                        nextCol = col + 1;
                        cells.put(col, cellText(type, value.toString(), shared));
                        value = null;
                    }
                    case "row" -> {
                        if (cells.values().stream().allMatch(String::isEmpty)) continue;
                        if (header == null) {
                            header = new ArrayList<>();
                            int last = cells.lastKey();
                            for (int i = 0; i <= last; i++) header.add(cells.getOrDefault(i, "").trim());
                            continue;
                        }
                        ObjectNode rec = JsonLinesReader.JSON.createObjectNode();
                        for (var c : cells.entrySet()) {
                            if (c.getKey() < header.size() && !header.get(c.getKey()).isEmpty()) rec.put(header.get(c.getKey()), c.getValue());
                        }
                        sink.record(rec, rowNumber);
                    }
                    default -> { }
                }
            }
        }
    }

    private static String cellText(String type, String raw, List<String> shared) {
        if ("s".equals(type)) {
            int i = Integer.parseInt(raw.trim());
            return i < shared.size() ? shared.get(i) : "";
        }
        if ("b".equals(type)) return raw.trim().equals("1") ? "TRUE" : "FALSE";
        return raw;
    }

    /** "BC12" -> 54: letters are bijective base 26 (A=1 ... Z=26, AA=27), 0-based after. */
    static int column(String ref) {
        int col = 0;
        for (int i = 0; i < ref.length() && Character.isLetter(ref.charAt(i)); i++) {
            col = col * 26 + (Character.toUpperCase(ref.charAt(i)) - 'A' + 1);
        }
        return col - 1;
    }

    private static InputStream open(ZipFile zip, String name, Path file) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) throw new UserError(file + ": " + name + " is missing, so this is not an XLSX workbook; save it as .xlsx");
        return zip.getInputStream(e);
    }

    private static XMLStreamReader xml(InputStream in) throws XMLStreamException {
        XMLInputFactory f = XMLInputFactory.newFactory();
        // No DTDs or external entities: a workbook is untrusted input.
        f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        return f.createXMLStreamReader(in);
    }
}
