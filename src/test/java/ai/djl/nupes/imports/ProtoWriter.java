package ai.djl.nupes.imports;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes protocol-buffers bytes by hand, for reader tests. */
final class ProtoWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** Writes a raw varint (no tag). */
    ProtoWriter rawVarint(long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return this;
    }

    /** Writes raw bytes. */
    ProtoWriter raw(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    ProtoWriter tag(int field, int wireType) {
        return rawVarint(((long) field << 3) | wireType);
    }

    ProtoWriter varint(int field, long v) {
        return tag(field, ProtoReader.VARINT).rawVarint(v);
    }

    ProtoWriter fixed32(int field, float v) {
        tag(field, ProtoReader.FIXED32);
        byte[] b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array();
        out.writeBytes(b);
        return this;
    }

    ProtoWriter fixed64(int field, long v) {
        tag(field, ProtoReader.FIXED64);
        byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
        out.writeBytes(b);
        return this;
    }

    ProtoWriter bytes(int field, byte[] b) {
        tag(field, ProtoReader.LENGTH_DELIMITED).rawVarint(b.length);
        out.writeBytes(b);
        return this;
    }

    ProtoWriter string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    ProtoWriter message(int field, ProtoWriter m) {
        return bytes(field, m.toByteArray());
    }

    ProtoWriter packedVarints(int field, long... values) {
        ProtoWriter body = new ProtoWriter();
        for (long v : values) {
            body.rawVarint(v);
        }
        return message(field, body);
    }

    ProtoWriter packedFloats(int field, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return bytes(field, b.array());
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }
}
