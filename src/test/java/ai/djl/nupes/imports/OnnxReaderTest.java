package ai.djl.nupes.imports;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

class OnnxReaderTest {

    private static byte[] miniLm;
    private static OnnxModel model;

    @BeforeAll
    static void readMiniLm() throws IOException, MalformedModelException {
        miniLm = MiniLm.bytes(MiniLm.ONNX);
        model = OnnxReader.read(miniLm);
    }

    @Test
    void aHandWrittenModelReadsBackFieldByField() throws MalformedModelException {
        byte[] raw =
                ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putFloat(0.5f)
                        .putFloat(-2f)
                        .array();
        ProtoWriter shape =
                new ProtoWriter()
                        .message(1, new ProtoWriter().string(2, "N"))
                        .message(1, new ProtoWriter().varint(1, 4))
                        .message(1, new ProtoWriter());
        ProtoWriter tensorType = new ProtoWriter().varint(1, 7).message(2, shape);
        ProtoWriter input =
                new ProtoWriter()
                        .string(1, "x")
                        .message(2, new ProtoWriter().message(1, tensorType));
        ProtoWriter graph =
                new ProtoWriter()
                        .message(
                                1,
                                new ProtoWriter()
                                        .string(1, "x")
                                        .string(1, "w")
                                        .string(2, "y")
                                        .string(3, "node0")
                                        .string(4, "Transpose")
                                        .message(
                                                5,
                                                new ProtoWriter()
                                                        .string(1, "perm")
                                                        .varint(20, 7)
                                                        .packedVarints(8, 0, 2, 1, 3))
                                        .message(
                                                5,
                                                new ProtoWriter()
                                                        .string(1, "alpha")
                                                        .varint(20, 1)
                                                        .fixed32(2, 0.125f))
                                        .message(
                                                5,
                                                new ProtoWriter()
                                                        .string(1, "mode")
                                                        .varint(20, 3)
                                                        .string(4, "exact")))
                        .string(2, "g")
                        .message(
                                5,
                                new ProtoWriter()
                                        .varint(1, 2)
                                        .varint(1, 2)
                                        .varint(2, 1)
                                        .packedFloats(4, 1, 2, 3, 4)
                                        .string(8, "w"))
                        .message(
                                5,
                                new ProtoWriter()
                                        .packedVarints(1, 3)
                                        .varint(2, 7)
                                        .varint(7, -1)
                                        .varint(7, 0)
                                        .varint(7, 5)
                                        .string(8, "i64"))
                        .message(
                                5,
                                new ProtoWriter()
                                        .varint(1, 2)
                                        .varint(2, 1)
                                        .string(8, "raw")
                                        .bytes(9, raw))
                        .message(
                                5,
                                new ProtoWriter()
                                        .varint(1, 3)
                                        .varint(2, 3)
                                        .packedVarints(5, -1, 7, 127)
                                        .string(8, "i8"))
                        .message(11, input)
                        .message(12, new ProtoWriter().string(1, "y"));
        byte[] bytes =
                new ProtoWriter()
                        .varint(1, 8)
                        .string(2, "hand")
                        .message(8, new ProtoWriter().string(1, "").varint(2, 11))
                        .message(8, new ProtoWriter().string(1, "com.microsoft").varint(2, 1))
                        .message(7, graph)
                        .message(14, new ProtoWriter().string(1, "key").string(2, "skipped"))
                        .toByteArray();

        OnnxModel m = OnnxReader.read(bytes);
        assertEquals(8, m.irVersion());
        assertEquals("hand", m.producerName());
        assertEquals(Map.of("", 11L, "com.microsoft", 1L), m.opsets());
        assertEquals(11, m.defaultOpset());
        OnnxGraph g = m.graph();
        assertEquals("g", g.name());
        OnnxNode n = g.nodes().get(0);
        assertEquals("node0", n.name());
        assertEquals("Transpose", n.opType());
        assertEquals(List.of("x", "w"), n.inputs());
        assertEquals(List.of("y"), n.outputs());
        assertArrayEquals(new long[] {0, 2, 1, 3}, n.attribute("perm").orElseThrow().ints());
        assertEquals(OnnxAttribute.INTS, n.attribute("perm").orElseThrow().type());
        assertEquals(0.125f, n.attribute("alpha").orElseThrow().f());
        assertEquals("exact", n.attribute("mode").orElseThrow().s());

        assertArrayEquals(new float[] {1, 2, 3, 4}, g.initializer("w").orElseThrow().floats());
        assertArrayEquals(new long[] {2, 2}, g.initializer("w").orElseThrow().dims());
        OnnxTensor i64 = g.initializer("i64").orElseThrow();
        assertEquals(OnnxDataType.INT64, i64.dataType());
        assertArrayEquals(new long[] {-1, 0, 5}, i64.longs());
        assertArrayEquals(new float[] {0.5f, -2f}, g.initializer("raw").orElseThrow().floats());
        assertArrayEquals(new long[] {-1, 7, 127}, g.initializer("i8").orElseThrow().longs());

        OnnxValueInfo x = g.inputs().get(0);
        assertEquals("x", x.name());
        assertEquals(OnnxDataType.INT64, x.elementType());
        assertEquals(List.of("N", "4", "?"), x.dims());
        assertEquals("y", g.outputs().get(0).name());
        assertNull(g.outputs().get(0).elementType());
    }

    @Test
    void miniLmParsesToItsKnownGraph() {
        assertEquals("pytorch", model.producerName());
        assertEquals(11, model.defaultOpset());
        OnnxGraph g = model.graph();
        assertEquals(637, g.nodes().size());
        assertEquals(102, g.initializers().size());
        assertEquals(
                List.of("input_ids", "attention_mask", "token_type_ids"),
                g.runtimeInputs().stream().map(OnnxValueInfo::name).toList());
        assertEquals(List.of("batch_size", "sequence_length"), g.inputs().get(0).dims());
        assertEquals("last_hidden_state", g.outputs().get(0).name());
        assertEquals(List.of("batch_size", "sequence_length", "384"), g.outputs().get(0).dims());
        OnnxTensor word = g.initializer("embeddings.word_embeddings.weight").orElseThrow();
        assertArrayEquals(new long[] {30522, 384}, word.dims());
        assertEquals(OnnxDataType.FLOAT, word.dataType());
        assertArrayEquals(
                new long[] {384, 1536}, g.initializer("onnx::MatMul_798").orElseThrow().dims());
        OnnxTensor positions = g.initializer("embeddings.position_ids").orElseThrow();
        long[] ids = positions.longs();
        assertEquals(511, ids[511]);
        // the one float constant of the attention mask: (1 - mask) · float minimum
        float maskScale =
                g.node("/Constant_1")
                        .orElseThrow()
                        .attribute("value")
                        .orElseThrow()
                        .t()
                        .scalarFloat();
        assertEquals(-Float.MAX_VALUE, maskScale);
    }

    @Test
    void aTruncatedModelNamesTheByteOffsetAndField() {
        byte[] truncated = Arrays.copyOf(miniLm, 1_000_000);
        MalformedModelException e =
                assertThrows(MalformedModelException.class, () -> OnnxReader.read(truncated));
        System.out.println("truncated at 1,000,000 bytes: " + e.getMessage());
        assertTrue(e.getMessage().contains("byte offset"), e.getMessage());
        assertTrue(e.getMessage().contains("ModelProto.graph (field 7)"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        // cut inside the word embedding's raw data: the error points into the initializer
        int cut = found(miniLm, "embeddings.word_embeddings.weight".getBytes()) + 1000;
        ByteBuffer inner = ByteBuffer.wrap(miniLm, 0, cut).slice();
        MalformedModelException e2 =
                assertThrows(MalformedModelException.class, () -> OnnxReader.read(inner));
        assertTrue(e2.getMessage().contains("byte offset"), e2.getMessage());
    }

    @Test
    void aModelWithoutAGraphIsRefused() {
        byte[] bytes = new ProtoWriter().varint(1, 7).string(2, "x").toByteArray();
        MalformedModelException e =
                assertThrows(MalformedModelException.class, () -> OnnxReader.read(bytes));
        assertTrue(
                e.getMessage().contains("ModelProto.graph (field 7) is missing"), e.getMessage());
    }

    @Test
    void externalTensorDataIsRefusedNamingTheTensor() {
        byte[] bytes =
                new ProtoWriter()
                        .message(
                                7,
                                new ProtoWriter()
                                        .message(
                                                5,
                                                new ProtoWriter()
                                                        .varint(1, 4)
                                                        .varint(2, 1)
                                                        .string(8, "big")
                                                        .varint(14, 1)))
                        .toByteArray();
        MalformedModelException e =
                assertThrows(MalformedModelException.class, () -> OnnxReader.read(bytes));
        assertTrue(e.getMessage().contains("'big'"), e.getMessage());
        assertTrue(e.getMessage().contains("external"), e.getMessage());
    }

    @Test
    void aTensorWhoseDataDoesNotFitItsShapeIsRefused() {
        byte[] bytes =
                new ProtoWriter()
                        .message(
                                7,
                                new ProtoWriter()
                                        .message(
                                                5,
                                                new ProtoWriter()
                                                        .varint(1, 3)
                                                        .varint(2, 1)
                                                        .string(8, "short")
                                                        .packedFloats(4, 1, 2)))
                        .toByteArray();
        MalformedModelException e =
                assertThrows(MalformedModelException.class, () -> OnnxReader.read(bytes));
        assertTrue(e.getMessage().contains("'short'"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 12"), e.getMessage());
    }

    @Test
    void aMissingOrGarbageFileIsRefusedNamingIt(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("nothing.onnx");
        IOException e = assertThrows(IOException.class, () -> OnnxReader.read(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

        Path garbage =
                Files.write(dir.resolve("garbage.onnx"), "this is not protobuf at all".getBytes());
        MalformedModelException m =
                assertThrows(MalformedModelException.class, () -> OnnxReader.read(garbage));
        assertTrue(m.getMessage().contains(garbage.toString()), m.getMessage());
        assertTrue(m.getMessage().contains("byte offset"), m.getMessage());
    }


    private static int found(byte[] haystack, byte[] needle) {
        int at = ai.djl.nupes.Fixtures.indexOf(haystack, needle);
        if (at < 0) {
            throw new IllegalStateException("not found");
        }
        return at;
    }
}
