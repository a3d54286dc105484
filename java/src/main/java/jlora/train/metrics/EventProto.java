package jlora.train.metrics;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Encodes the few TensorBoard protobuf messages we write, by hand. protobuf-java plus generated
 * classes for event.proto/summary.proto/tensor.proto would be ~2 MB of jar and a code generator
 * in the build for about six fields; the wire format for them is a dozen lines.
 *
 * <p>Field numbers (tensorflow/core/util/event.proto, core/framework/summary.proto,
 * tensor.proto, tensor_shape.proto):
 * <pre>
 * Event          { double wall_time = 1; int64 step = 2; string file_version = 3;
 *                  Summary summary = 5; SessionLog session_log = 7; }
 * SessionLog     { SessionStatus status = 1; }              START = 1
 * Summary        { repeated Value value = 1; }
 * Summary.Value  { string tag = 1; float simple_value = 2; TensorProto tensor = 8;
 *                  SummaryMetadata metadata = 9; }
 * SummaryMetadata{ PluginData plugin_data = 1; }  PluginData { string plugin_name = 1; }
 * TensorProto    { DataType dtype = 1; TensorShapeProto tensor_shape = 2;
 *                  repeated bytes string_val = 8; }        DT_STRING = 7
 * </pre>
 * Wire types: 0 varint, 1 fixed64 (little-endian), 2 length-delimited, 5 fixed32.
 */
final class EventProto {
    private EventProto() {}

    static final String FILE_VERSION = "brain.Event:2";
    private static final int DT_STRING = 7;
    private static final int SESSION_START = 1;

    static byte[] fileVersion(double wallTime) {
        Writer e = new Writer();
        e.fixed64(1, Double.doubleToRawLongBits(wallTime));
        e.bytes(3, utf8(FILE_VERSION));
        return e.toBytes();
    }

    /** Tells TensorBoard the run restarted at {@code step}: it drops what it had at that step and later. */
    static byte[] sessionStart(double wallTime, long step) {
        Writer log = new Writer();
        log.varint(1, SESSION_START);
        return event(wallTime, step, 7, log.toBytes());
    }

    /** One Event whose Summary holds a simple_value per tag (in the iteration order given). */
    static byte[] scalars(double wallTime, long step, Iterable<Map.Entry<String, Double>> values) {
        Writer summary = new Writer();
        for (var v : values) {
            Writer value = new Writer();
            value.bytes(1, utf8(v.getKey()));
            value.fixed32(2, Float.floatToRawIntBits(v.getValue().floatValue()));
            summary.bytes(1, value.toBytes());
        }
        return event(wallTime, step, 5, summary.toBytes());
    }

    /** A text summary: a scalar DT_STRING tensor marked for TensorBoard's "text" plugin. */
    static byte[] text(double wallTime, long step, String tag, String text) {
        Writer shape = new Writer(); // no dims: a rank-0 tensor
        Writer tensor = new Writer();
        tensor.varint(1, DT_STRING);
        tensor.bytes(2, shape.toBytes());
        tensor.bytes(8, utf8(text));
        Writer plugin = new Writer();
        plugin.bytes(1, utf8("text"));
        Writer metadata = new Writer();
        metadata.bytes(1, plugin.toBytes());
        Writer value = new Writer();
        value.bytes(1, utf8(tag));
        value.bytes(8, tensor.toBytes());
        value.bytes(9, metadata.toBytes());
        Writer summary = new Writer();
        summary.bytes(1, value.toBytes());
        return event(wallTime, step, 5, summary.toBytes());
    }

    private static byte[] event(double wallTime, long step, int field, byte[] payload) {
        Writer e = new Writer();
        e.fixed64(1, Double.doubleToRawLongBits(wallTime));
        e.varint(2, step);
        e.bytes(field, payload);
        return e.toBytes();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Protobuf wire-format writer for the four wire types above. */
    private static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void varint(int field, long value) {
            key(field, 0);
            rawVarint(value);
        }

        void fixed64(int field, long bits) {
            key(field, 1);
            for (int i = 0; i < 8; i++) out.write((int) (bits >>> (8 * i)));
        }

        void fixed32(int field, int bits) {
            key(field, 5);
            for (int i = 0; i < 4; i++) out.write(bits >>> (8 * i));
        }

        void bytes(int field, byte[] data) {
            key(field, 2);
            rawVarint(data.length);
            out.writeBytes(data);
        }

        byte[] toBytes() {
            return out.toByteArray();
        }

        private void key(int field, int wireType) {
            rawVarint(((long) field << 3) | wireType);
        }

        /** Base-128, low group first, high bit = more; negative int64 takes all 10 bytes. */
        private void rawVarint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
