package ai.djl.nupes.imports;

import ai.djl.MalformedModelException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads one protocol-buffers message from a byte buffer, field by field.
 *
 * <p>Supports the four wire types a proto2 schema without groups produces: varint (0), 64-bit (1),
 * length-delimited (2) and 32-bit (5). A reader covers the bytes {@code [start, end)} of its
 * buffer; {@link #message} opens a sub-reader over one length-delimited field without copying.
 * Every error is a {@link MalformedModelException} naming the byte offset (counted from the start
 * of the whole input) and the path of fields being read, e.g. {@code ModelProto.graph > GraphProto
 * .initializer > TensorProto.raw_data (field 9)}.
 *
 * <p>Typical loop:
 *
 * <pre>{@code
 * while (r.next()) {
 *     switch (r.field()) {
 *         case 1 -> name = r.string("name");
 *         default -> r.skip();
 *     }
 * }
 * }</pre>
 */
final class ProtoReader {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final ByteBuffer buffer;
    private final String messageName;
    private final String context;
    private final int end;
    private int position;
    private int field;
    private int wireType;
    private int tagOffset;

    private ProtoReader(ByteBuffer buffer, String messageName, String context, int start, int end) {
        this.buffer = buffer;
        this.messageName = messageName;
        this.context = context;
        this.position = start;
        this.end = end;
    }

    /**
     * A reader over a whole buffer, from its position to its limit; offsets in errors count from
     * the buffer's index 0.
     *
     * @param buffer the bytes (not modified; its position and limit are not changed)
     * @param messageName the message type, for errors
     * @return the reader
     */
    static ProtoReader of(ByteBuffer buffer, String messageName) {
        ByteBuffer view = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return new ProtoReader(view, messageName, messageName, view.position(), view.limit());
    }

    /**
     * A reader over a whole byte array.
     *
     * @param bytes the bytes
     * @param messageName the message type, for errors
     * @return the reader
     */
    static ProtoReader of(byte[] bytes, String messageName) {
        return of(ByteBuffer.wrap(bytes), messageName);
    }

    /**
     * Reads the next tag.
     *
     * @return false at the end of the message
     * @throws MalformedModelException when the tag is corrupt or names wire type 3, 4, 6 or 7
     */
    boolean next() throws MalformedModelException {
        if (position >= end) {
            return false;
        }
        tagOffset = position;
        long tag = varint(context + " tag");
        field = (int) (tag >>> 3);
        wireType = (int) (tag & 7);
        if (field <= 0 || tag >>> 3 > Integer.MAX_VALUE) {
            throw error(tagOffset, context + " tag", "field number " + (tag >>> 3));
        }
        if (wireType != VARINT
                && wireType != FIXED64
                && wireType != LENGTH_DELIMITED
                && wireType != FIXED32) {
            throw error(
                    tagOffset,
                    describe("field " + field),
                    "unsupported wire type " + wireType + " (groups are not used by ONNX)");
        }
        return true;
    }

    /**
     * The field number of the tag {@link #next} read.
     *
     * @return the field number
     */
    int field() {
        return field;
    }

    /**
     * The wire type of the tag {@link #next} read.
     *
     * @return 0, 1, 2 or 5
     */
    int wireType() {
        return wireType;
    }

    /**
     * The offset, from the start of the input, of the next unread byte.
     *
     * @return the offset
     */
    int position() {
        return position;
    }

    /**
     * Reads a varint field (int32, int64, uint64, enum, bool); negative int32/int64 values are
     * 10-byte two's-complement varints and come back negative.
     *
     * @param name the field's name, for errors
     * @return the value
     * @throws MalformedModelException when the field is not a varint or is truncated
     */
    long int64(String name) throws MalformedModelException {
        expect(VARINT, name);
        return varint(describe(name));
    }

    /**
     * Reads a float field (wire type 5).
     *
     * @param name the field's name, for errors
     * @return the value
     * @throws MalformedModelException when the field is not 32-bit or is truncated
     */
    float float32(String name) throws MalformedModelException {
        expect(FIXED32, name);
        require(4, describe(name));
        float v = buffer.getFloat(position);
        position += 4;
        return v;
    }

    /**
     * Reads a 64-bit fixed field (double, fixed64, sfixed64) as its raw bits.
     *
     * @param name the field's name, for errors
     * @return the 64 bits, little-endian
     * @throws MalformedModelException when the field is not 64-bit or is truncated
     */
    long fixed64(String name) throws MalformedModelException {
        expect(FIXED64, name);
        require(8, describe(name));
        long v = buffer.getLong(position);
        position += 8;
        return v;
    }

    /**
     * Reads a length-delimited field as a view of the input (no copy, little-endian, position 0 at
     * the field's first byte).
     *
     * @param name the field's name, for errors
     * @return the bytes
     * @throws MalformedModelException when the field is not length-delimited or runs past the end
     */
    ByteBuffer bytes(String name) throws MalformedModelException {
        int start = delimited(name);
        int length = position - start;
        return buffer.slice(start, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Reads a length-delimited field as UTF-8 text.
     *
     * @param name the field's name, for errors
     * @return the text
     * @throws MalformedModelException when the field is not length-delimited or runs past the end
     */
    String string(String name) throws MalformedModelException {
        int start = delimited(name);
        byte[] b = new byte[position - start];
        buffer.get(start, b);
        return new String(b, StandardCharsets.UTF_8);
    }

    /**
     * Opens a reader over an embedded message field.
     *
     * @param name the field's name, for errors
     * @param type the embedded message's type, for errors
     * @return the reader over the field's bytes
     * @throws MalformedModelException when the field is not length-delimited or runs past the end
     */
    ProtoReader message(String name, String type) throws MalformedModelException {
        int start = delimited(name);
        return new ProtoReader(buffer, type, context + '.' + name + " > " + type, start, position);
    }

    /**
     * Reads one element or a packed run of a repeated varint field: proto2 writers use either
     * encoding, and a reader must accept both.
     *
     * @param name the field's name, for errors
     * @param out receives the values in order
     * @throws MalformedModelException when the field has another wire type or is truncated
     */
    void varints(String name, LongSink out) throws MalformedModelException {
        if (wireType == VARINT) {
            out.accept(varint(describe(name)));
            return;
        }
        expect(LENGTH_DELIMITED, name);
        int start = delimited(name);
        int stop = position;
        position = start;
        while (position < stop) {
            long v = varint(describe(name), stop);
            out.accept(v);
        }
    }

    /**
     * Reads one element or a packed run of a repeated float field.
     *
     * @param name the field's name, for errors
     * @param out receives the values in order
     * @throws MalformedModelException when the field has another wire type, is truncated or the
     *     packed length is not a multiple of 4
     */
    void floats(String name, FloatSink out) throws MalformedModelException {
        if (wireType == FIXED32) {
            out.accept(float32(name));
            return;
        }
        expect(LENGTH_DELIMITED, name);
        int start = delimited(name);
        int length = position - start;
        if (length % 4 != 0) {
            throw error(start, describe(name), "packed float run of " + length + " bytes");
        }
        for (int p = start; p < position; p += 4) {
            out.accept(buffer.getFloat(p));
        }
    }

    /**
     * Skips the current field, whatever its wire type.
     *
     * @throws MalformedModelException when the field is truncated
     */
    void skip() throws MalformedModelException {
        String name = describe("field " + field);
        switch (wireType) {
            case VARINT -> varint(name);
            case FIXED64 -> {
                require(8, name);
                position += 8;
            }
            case FIXED32 -> {
                require(4, name);
                position += 4;
            }
            case LENGTH_DELIMITED -> delimited("field " + field);
            default -> throw new IllegalStateException("wire type " + wireType);
        }
    }

    /**
     * An error at the current field.
     *
     * @param name the field's name
     * @param problem what is wrong
     * @return the exception to throw
     */
    MalformedModelException fieldError(String name, String problem) {
        return error(tagOffset, describe(name), problem);
    }

    private int delimited(String name) throws MalformedModelException {
        expect(LENGTH_DELIMITED, name);
        String where = describe(name);
        int lengthOffset = position;
        long length = varint(where);
        if (length > end - position) {
            throw error(
                    lengthOffset,
                    where,
                    "length "
                            + length
                            + " runs past the end of "
                            + messageName
                            + " ("
                            + (end - position)
                            + " bytes left): the input is truncated or corrupt");
        }
        int start = position;
        position += (int) length;
        return start;
    }

    private void expect(int type, String name) throws MalformedModelException {
        if (wireType != type) {
            throw error(tagOffset, describe(name), "wire type " + wireType + ", expected " + type);
        }
    }

    private void require(int n, String where) throws MalformedModelException {
        if (end - position < n) {
            throw error(
                    position,
                    where,
                    "needs " + n + " bytes, " + (end - position) + " left: truncated input");
        }
    }

    private long varint(String where) throws MalformedModelException {
        return varint(where, end);
    }

    private long varint(String where, int stop) throws MalformedModelException {
        int start = position;
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= stop) {
                throw error(start, where, "varint runs past the end: truncated input");
            }
            byte b = buffer.get(position++);
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw error(start, where, "varint longer than 10 bytes");
    }

    private String describe(String name) {
        return context + '.' + name + " (field " + field + ')';
    }

    private static MalformedModelException error(int offset, String where, String problem) {
        return new MalformedModelException(
                "corrupt ONNX data at byte offset " + offset + ", in " + where + ": " + problem);
    }

    /** Receives the elements of a repeated varint field. */
    @FunctionalInterface
    interface LongSink {
        /**
         * Takes one value.
         *
         * @param value the value
         */
        void accept(long value);
    }

    /** Receives the elements of a repeated float field. */
    @FunctionalInterface
    interface FloatSink {
        /**
         * Takes one value.
         *
         * @param value the value
         */
        void accept(float value);
    }
}
