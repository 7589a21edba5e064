package ai.djl.nupes.imports;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

class ProtoReaderTest {

    @Test
    void aMultiByteVarintDecodes() throws MalformedModelException {
        // the protobuf documentation's example: field 1 = 150 is 08 96 01
        ProtoReader r =
                ProtoReader.of(new ProtoWriter().raw(0x08, 0x96, 0x01).toByteArray(), "Test");
        assertTrue(r.next());
        assertEquals(1, r.field());
        assertEquals(ProtoReader.VARINT, r.wireType());
        assertEquals(150, r.int64("a"));
        assertFalse(r.next());
    }

    @Test
    void negativeInt64IsATenByteVarint() throws MalformedModelException {
        byte[] bytes =
                new ProtoWriter()
                        .varint(3, -1)
                        .varint(3, -2)
                        .varint(3, Long.MIN_VALUE)
                        .toByteArray();
        assertEquals(3 * 11, bytes.length, "tag + 10 bytes each");
        ProtoReader r = ProtoReader.of(bytes, "Test");
        List<Long> values = new ArrayList<>();
        while (r.next()) {
            values.add(r.int64("v"));
        }
        assertEquals(List.of(-1L, -2L, Long.MIN_VALUE), values);
    }

    @Test
    void packedAndUnpackedRepeatedVarintsReadTheSame() throws MalformedModelException {
        long[] expected = {3, 270, 86942, -5};
        byte[] packed = new ProtoWriter().packedVarints(4, expected).toByteArray();
        ProtoWriter w = new ProtoWriter();
        for (long v : expected) {
            w.varint(4, v);
        }
        byte[] unpacked = w.toByteArray();
        assertArrayEquals(expected, readLongs(packed));
        assertArrayEquals(expected, readLongs(unpacked));
        // the documentation's packed example: 22 06 03 8E 02 9E A7 05 for field 4 = [3, 270, 86942]
        assertArrayEquals(
                new long[] {3, 270, 86942},
                readLongs(
                        new ProtoWriter()
                                .raw(0x22, 0x06, 0x03, 0x8E, 0x02, 0x9E, 0xA7, 0x05)
                                .toByteArray()));
    }

    @Test
    void packedAndUnpackedRepeatedFloatsReadTheSame() throws MalformedModelException {
        float[] expected = {1.5f, -0.25f, Float.MIN_VALUE, -Float.MAX_VALUE};
        ProtoWriter w = new ProtoWriter();
        for (float v : expected) {
            w.fixed32(7, v);
        }
        assertArrayEquals(expected, readFloats(w.toByteArray()));
        assertArrayEquals(
                expected, readFloats(new ProtoWriter().packedFloats(7, expected).toByteArray()));
    }

    @Test
    void unknownFieldsOfEveryWireTypeAreSkipped() throws MalformedModelException {
        byte[] bytes =
                new ProtoWriter()
                        .varint(1, 300)
                        .bytes(99, new byte[] {1, 2, 3, 4, 5})
                        .fixed32(5, 3.25f)
                        .fixed64(6, 0x0102030405060708L)
                        .message(12, new ProtoWriter().varint(1, -1).string(2, "inner"))
                        .string(2, "kept")
                        .varint(1000, 1)
                        .toByteArray();
        ProtoReader r = ProtoReader.of(bytes, "Test");
        String kept = null;
        int skipped = 0;
        while (r.next()) {
            if (r.field() == 2) {
                kept = r.string("name");
            } else {
                r.skip();
                skipped++;
            }
        }
        assertEquals("kept", kept);
        assertEquals(6, skipped);
    }

    @Test
    void fixed64AndFixed32AreLittleEndian() throws MalformedModelException {
        ProtoReader r =
                ProtoReader.of(
                        new ProtoWriter()
                                .fixed64(1, 0x0102030405060708L)
                                .fixed32(2, 2.5f)
                                .toByteArray(),
                        "Test");
        assertTrue(r.next());
        assertEquals(0x0102030405060708L, r.fixed64("a"));
        assertTrue(r.next());
        assertEquals(2.5f, r.float32("b"));
    }

    @Test
    void aTruncatedVarintNamesTheOffsetAndField() {
        // field 1, then a varint whose continuation bit promises more bytes than there are
        byte[] bytes = new ProtoWriter().string(2, "ok").raw(0x08, 0xFF, 0xFF).toByteArray();
        ProtoReader r = ProtoReader.of(bytes, "NodeProto");
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> {
                            while (r.next()) {
                                if (r.field() == 1) {
                                    r.int64("version");
                                } else {
                                    r.skip();
                                }
                            }
                        });
        assertTrue(e.getMessage().contains("byte offset 5"), e.getMessage());
        assertTrue(e.getMessage().contains("NodeProto.version (field 1)"), e.getMessage());
    }

    @Test
    void aLengthPastTheEndNamesTheOffsetAndTheFieldPath() {
        ProtoWriter inner =
                new ProtoWriter()
                        .raw(0x2A, 0x64, 0x01, 0x02); // field 5: 100 bytes promised, 2 present
        byte[] bytes = new ProtoWriter().message(7, inner).toByteArray();
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> {
                            ProtoReader r = ProtoReader.of(bytes, "ModelProto");
                            r.next();
                            ProtoReader graph = r.message("graph", "GraphProto");
                            graph.next();
                            graph.message("initializer", "TensorProto");
                        });
        assertTrue(e.getMessage().contains("byte offset 3"), e.getMessage());
        assertTrue(
                e.getMessage().contains("ModelProto.graph > GraphProto.initializer (field 5)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("length 100"), e.getMessage());
    }

    @Test
    void groupWireTypesAreRefused() {
        byte[] bytes = new ProtoWriter().tag(3, 3).toByteArray();
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class, () -> ProtoReader.of(bytes, "Test").next());
        assertTrue(e.getMessage().contains("wire type 3"), e.getMessage());
    }

    @Test
    void aFieldReadWithTheWrongWireTypeIsRefused() {
        byte[] bytes = new ProtoWriter().varint(9, 5).toByteArray();
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> {
                            ProtoReader r = ProtoReader.of(bytes, "TensorProto");
                            r.next();
                            r.bytes("raw_data");
                        });
        assertTrue(e.getMessage().contains("TensorProto.raw_data (field 9)"), e.getMessage());
    }

    private static long[] readLongs(byte[] bytes) throws MalformedModelException {
        List<Long> out = new ArrayList<>();
        ProtoReader r = ProtoReader.of(bytes, "Test");
        while (r.next()) {
            r.varints("values", out::add);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private static float[] readFloats(byte[] bytes) throws MalformedModelException {
        List<Float> out = new ArrayList<>();
        ProtoReader r = ProtoReader.of(bytes, "Test");
        while (r.next()) {
            r.floats("values", out::add);
        }
        float[] f = new float[out.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = out.get(i);
        }
        return f;
    }
}
