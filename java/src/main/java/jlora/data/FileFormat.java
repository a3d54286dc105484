package jlora.data;

import jlora.UserError;

import java.nio.file.Path;
import java.util.Locale;

/** How records are laid out in a file; detected from the extension unless the user names one. */
public enum FileFormat {
    /** One JSON object per line (also .ndjson); blank lines are skipped. */
    JSONL,
    /** One JSON document: an array of records, {@code {"data": [...]}} (KorQuAD v1 or records), or JSON Lines saved as .json. */
    JSON,
    CSV,
    TSV,
    XLSX;

    public static FileFormat fromExtension(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return JSONL;
        if (name.endsWith(".json")) return JSON;
        if (name.endsWith(".csv")) return CSV;
        if (name.endsWith(".tsv") || name.endsWith(".tab")) return TSV;
        if (name.endsWith(".xlsx")) return XLSX;
        throw new UserError(file + ": cannot tell the data format from the extension; use .jsonl, .json, .csv, .tsv or .xlsx, "
                + "or name the format (jsonl, json, csv, tsv, xlsx)");
    }

    public static FileFormat parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserError("unknown file format \"" + name + "\"; use one of jsonl, json, csv, tsv, xlsx");
        }
    }

    DatasetReader reader(ReaderOptions options) {
        return switch (this) {
            case JSONL -> new JsonLinesReader();
            case JSON -> new JsonDocumentReader();
            case CSV -> new CsvReader(',');
            case TSV -> new CsvReader('\t');
            case XLSX -> new XlsxReader(options.sheet());
        };
    }
}
