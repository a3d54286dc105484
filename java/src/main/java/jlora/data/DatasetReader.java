package jlora.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Streams the records of one file, in file order, as JSON objects with the line they start
 * on. Readers never hold the whole file: memory is bounded by one record (XLSX also keeps its
 * shared-string table). Syntax errors go to {@link RecordSink#malformed} and reading goes on
 * where the format allows it (the next line of JSONL, the next row of a table).
 */
public interface DatasetReader {
    void read(Path file, RecordSink sink) throws IOException;
}
