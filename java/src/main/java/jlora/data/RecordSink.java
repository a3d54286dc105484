package jlora.data;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Where a {@link DatasetReader} puts what it reads. */
public interface RecordSink {
    void record(ObjectNode fields, long line);

    void malformed(Problem.Kind kind, long line, int column, String reason);
}
