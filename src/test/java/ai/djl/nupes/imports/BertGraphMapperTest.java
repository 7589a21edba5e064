package ai.djl.nupes.imports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

class BertGraphMapperTest {

    private static OnnxModel miniLm;

    @BeforeAll
    static void readMiniLm() throws IOException, MalformedModelException {
        miniLm = OnnxReader.read(MiniLm.bytes(MiniLm.ONNX));
    }

    @Test
    void theArchitectureComesFromTheGraph() throws MalformedModelException {
        BertConfig c = BertGraphMapper.map(miniLm).config();
        assertEquals(new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f, -Float.MAX_VALUE), c);
        assertEquals(32, c.headSize());
    }

    @Test
    void everyLinearWeightIsFoundThroughItsBias() throws MalformedModelException {
        Map<String, BertCheckpoint.Weight> w = BertGraphMapper.map(miniLm).weights();
        assertEquals(101, w.size(), "102 initializers less the position_ids buffer");
        BertCheckpoint.Weight q0 = w.get("encoder.layer.0.attention.self.query.weight");
        assertEquals("onnx::MatMul_787", q0.tensor().name());
        assertTrue(q0.inByOut());
        assertEquals(
                "onnx::MatMul_799", w.get("encoder.layer.0.output.dense.weight").tensor().name());
        assertEquals(
                "onnx::MatMul_864", w.get("encoder.layer.5.output.dense.weight").tensor().name());
        Set<String> linear = new HashSet<>();
        for (Map.Entry<String, BertCheckpoint.Weight> e : w.entrySet()) {
            if (e.getValue().inByOut()) {
                linear.add(e.getValue().tensor().name());
            } else {
                assertEquals(e.getKey(), e.getValue().tensor().name());
            }
        }
        assertEquals(36, linear.size(), "6 layers × 6 distinct MatMul weights");
    }

    @Test
    void aRenamedBiasIsRefusedNamingIt() {
        String bias = "encoder.layer.2.attention.self.key.bias";
        OnnxGraph g =
                miniLm.graph()
                        .withInitializerRenamed(bias, "encoder.layer.2.attention.self.kee.bias");
        String message = refusal(g);
        assertTrue(message.contains("missing bias initializer '" + bias + "'"), message);
    }

    @Test
    void anUnknownOpTypeInsideALayerIsRefusedNamingTheNode() {
        String erf = "/encoder/layer.3/intermediate/intermediate_act_fn/Erf";
        String message = refusal(miniLm.graph().withNode(erf, n -> n.withOpType("Gelu")));
        assertTrue(message.contains("node '" + erf + "' has op type 'Gelu'"), message);
    }

    @Test
    void anActivationThatIsNotGeluWithErfIsRefused() {
        // a supported op in the wrong place: sqrt(x / √2) instead of erf(x / √2)
        String erf = "/encoder/layer.1/intermediate/intermediate_act_fn/Erf";
        String message = refusal(miniLm.graph().withNode(erf, n -> n.withOpType("Sqrt")));
        assertTrue(message.contains("encoder.layer.1.intermediate"), message);
        assertTrue(message.contains("is not GELU with erf"), message);
    }

    @Test
    void aMatMulWeightOfTheWrongShapeIsRefusedNamingNodeAndTensor() {
        OnnxTensor narrow =
                OnnxTensor.ofFloats(
                        "onnx::MatMul_788", new long[] {384, 380}, new float[384 * 380]);
        String message = refusal(miniLm.graph().withInitializer(narrow));
        assertTrue(
                message.contains("MatMul node '/encoder/layer.0/attention/self/key/MatMul'"),
                message);
        assertTrue(
                message.contains("'onnx::MatMul_788' of shape [384, 380], expected [384, 384]"),
                message);
    }

    @Test
    void aResidualThatSkipsTheLayerIsRefused() {
        // the attention LayerNorm of layer 4 adds the dense output to itself instead of the input
        String add = "/encoder/layer.4/attention/output/Add";
        UnaryOperator<OnnxNode> change =
                n -> n.withInputs(List.of(n.inputs().get(0), n.inputs().get(0)));
        String message = refusal(miniLm.graph().withNode(add, change));
        assertTrue(message.contains("encoder.layer.4.attention.output.LayerNorm"), message);
        assertTrue(message.contains("residual"), message);
    }

    @Test
    void differentLayerNormEpsilonsAreRefused() {
        String eps = "/encoder/layer.2/output/LayerNorm/Constant_1";
        OnnxTensor e5 = OnnxTensor.ofFloats("", new long[0], 1e-5f);
        String message =
                refusal(
                        miniLm.graph()
                                .withNode(
                                        eps,
                                        n ->
                                                new OnnxNode(
                                                        n.name(),
                                                        n.opType(),
                                                        n.domain(),
                                                        n.inputs(),
                                                        n.outputs(),
                                                        List.of(
                                                                OnnxAttribute.ofTensor(
                                                                        "value", e5)))));
        assertTrue(message.contains("different epsilons"), message);
        assertTrue(message.contains("encoder.layer.2.output.LayerNorm=1.0E-5"), message);
    }

    @Test
    void theIntegerQuantizedExportIsRefusedNamingANode()
            throws IOException, MalformedModelException {
        OnnxModel q = OnnxReader.read(MiniLm.bytes(MiniLm.QUANTIZED_ONNX));
        MalformedModelException e =
                assertThrows(MalformedModelException.class, () -> BertGraphMapper.map(q));
        System.out.println("int8 export: " + e.getMessage());
        assertTrue(e.getMessage().contains("node '"), e.getMessage());
        assertTrue(e.getMessage().contains("op type 'DequantizeLinear'"), e.getMessage());
    }

    @Test
    void theMaskConstantIsReadFromTheGraph() throws MalformedModelException {
        // an older export's -10000 instead of the float minimum
        OnnxTensor c = OnnxTensor.ofFloats("", new long[0], -10000f);
        OnnxGraph g =
                miniLm.graph()
                        .withNode(
                                "/Constant_1",
                                n ->
                                        new OnnxNode(
                                                n.name(),
                                                n.opType(),
                                                n.domain(),
                                                n.inputs(),
                                                n.outputs(),
                                                List.of(OnnxAttribute.ofTensor("value", c))));
        BertConfig config = BertGraphMapper.map(miniLm.withGraph(g)).config();
        assertEquals(-10000f, config.attentionMaskBias());
        assertNotEquals(BertGraphMapper.map(miniLm).config(), config);
    }

    private static String refusal(OnnxGraph g) {
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> BertGraphMapper.map(miniLm.withGraph(g)));
        return e.getMessage();
    }
}
