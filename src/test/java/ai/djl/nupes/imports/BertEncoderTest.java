package ai.djl.nupes.imports;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.transform.BlockRewriter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

/** The encoder blocks on a small random configuration. */
class BertEncoderTest {

    private static final BertConfig SMALL =
            new BertConfig(50, 16, 2, 4, 32, 20, 2, 1e-12f, -Float.MAX_VALUE);

    private static NDManager manager;
    private static BertEncoder encoder;

    @BeforeAll
    static void build() {
        manager = NDManager.newBaseManager("PyTorch");
        encoder = new BertEncoder(SMALL);
        Shape tokens = new Shape(2, 7);
        encoder.initialize(manager, DataType.FLOAT32, tokens, tokens, tokens);
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    @Test
    void int32InputsAndMissingTokenTypesGiveTheInt64Result() {
        try (NDManager m = manager.newSubManager()) {
            long[] ids = {1, 5, 9, 2, 0, 0, 0, 1, 7, 3, 3, 8, 4, 2};
            long[] mask = {1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1};
            Shape s = new Shape(2, 7);
            NDArray idsL = m.create(ids, s);
            NDArray maskL = m.create(mask, s);
            NDArray zeros = m.zeros(s, DataType.INT64);
            float[] reference = forward(m, idsL, maskL, zeros).toFloatArray();
            NDArray out =
                    forward(
                            m,
                            idsL.toType(DataType.INT32, false),
                            maskL.toType(DataType.INT32, false));
            assertEquals(BertEncoder.OUTPUT_NAME, out.getName());
            assertEquals(new Shape(2, 7, 16), out.getShape());
            assertArrayEquals(reference, out.toFloatArray(), 0f);
            float[] typeOne = forward(m, idsL, maskL, m.ones(s, DataType.INT64)).toFloatArray();
            assertNotEquals(reference[0], typeOne[0], "token types change the output");
        }
    }

    @Test
    void inputsLongerThanThePositionTableAreRefused() {
        try (NDManager m = manager.newSubManager()) {
            NDArray ids = m.zeros(new Shape(1, 21), DataType.INT64);
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class, () -> forward(m, ids, ids.onesLike()));
            assertTrue(e.getMessage().contains("20 positions"), e.getMessage());
        }
    }

    @Test
    void theLinearLayersAreChildrenInForwardOrder() {
        Block layer = encoder.getChildren().get("02layer0");
        List<String> linear =
                layer.getChildren().stream()
                        .filter(p -> p.getValue() instanceof Linear)
                        .map(p -> p.getKey())
                        .toList();
        assertEquals(
                List.of(
                        "01query",
                        "02key",
                        "03value",
                        "04attentionOutput",
                        "06intermediate",
                        "07output"),
                linear);
        assertEquals(List.of("01embeddings", "02layer0", "03layer1"), encoder.getChildren().keys());
    }

    @Test
    void aLinearSwappedInByReflectionIsTheOneTheForwardRuns() {
        Block layer = encoder.getChildren().get("03layer1");
        Linear original = (Linear) layer.getChildren().get("06intermediate");
        Counting spy = new Counting(original);
        BlockRewriter.replaceChild(
                layer, "06intermediate", original, spy, "03layer1/06intermediate");
        try (NDManager m = manager.newSubManager()) {
            NDArray ids = m.create(new long[] {3, 4, 5}, new Shape(1, 3));
            float[] withSpy = forward(m, ids, ids.onesLike()).toFloatArray();
            assertEquals(1, spy.calls);
            BlockRewriter.replaceChild(
                    layer, "06intermediate", spy, original, "03layer1/06intermediate");
            assertArrayEquals(forward(m, ids, ids.onesLike()).toFloatArray(), withSpy, 0f);
            assertEquals(1, spy.calls);
        } finally {
            if (layer.getChildren().get("06intermediate") != original) {
                BlockRewriter.replaceChild(layer, "06intermediate", spy, original, "restore");
            }
        }
        assertSame(original, layer.getChildren().get("06intermediate"));
    }

    @Test
    void theBlockFactoryBuildsTheSameParametersInTheSameOrder() {
        Map<String, String> args = SMALL.toArguments();
        assertEquals(SMALL, BertConfig.fromArguments(args));
        Block a = new BertBlockFactory().newBlock(null, java.nio.file.Path.of("m"), args);
        Block b = new BertBlockFactory().newBlock(null, java.nio.file.Path.of("m"), args);
        assertEquals(encoder.getParameters().keys(), a.getParameters().keys());
        assertEquals(a.getParameters().keys(), b.getParameters().keys());
        assertEquals(2 * 6 * 2 + 2 * 2 * 2 + 3 + 2, a.getParameters().size());
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                new BertBlockFactory()
                                        .newBlock(
                                                null,
                                                java.nio.file.Path.of("dir"),
                                                Map.of("numHeads", "4")));
        assertTrue(e.getMessage().contains("'vocabSize' is missing"), e.getMessage());
    }

    @Test
    void gradientsThroughTheEncoderSurviveAGarbageCollection() {
        Parameter query =
                encoder.getChildren()
                        .get("02layer0")
                        .getChildren()
                        .get("01query")
                        .getParameters()
                        .get("weight");
        Parameter table =
                encoder.getChildren()
                        .get("01embeddings")
                        .getChildren()
                        .get("01word")
                        .getParameters()
                        .get("weight");
        try (NDManager m = manager.newSubManager()) {
            NDArray ids = m.create(new long[] {3, 4, 5, 6, 1, 2, 9, 0}, new Shape(2, 4));
            NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 0, 0}, new Shape(2, 4));
            float[] once = gradient(m, query, ids, mask, false);
            float[] twice =
                    gradient(m, query, ids, mask, true); // PyTorch accumulates: once + again
            float scale = 0;
            for (float g : once) {
                scale = Math.max(scale, Math.abs(g));
            }
            assertTrue(scale > 1e-3f, "the query weight gets a gradient: " + scale);
            for (int i = 0; i < once.length; i++) {
                assertTrue(Float.isFinite(twice[i]), "gradient " + i + " is " + twice[i]);
                assertEquals(2 * once[i], twice[i], 1e-5f * scale, "gradient " + i);
            }
            assertFalse(table.requiresGradient(), "the embedding table is frozen");
        }
    }

    private static float[] gradient(
            NDManager m, Parameter p, NDArray ids, NDArray mask, boolean collect) {
        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
            NDArray out =
                    encoder.forward(new ParameterStore(m, false), new NDList(ids, mask), true)
                            .head();
            // a fixed projection: sum(out²) would be nearly constant after a LayerNorm
            NDArray direction = m.arange(0f, out.size(), 1f).reshape(out.getShape()).sin();
            NDArray loss = out.mul(direction).sum();
            if (collect) {
                churn(m);
            }
            gc.backward(loss);
        }
        return p.getArray().getGradient().toFloatArray();
    }

    /** A garbage collection and a burst of small allocations that reuse freed native memory. */
    private static void churn(NDManager m) {
        System.gc();
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (NDManager burst = m.newSubManager()) {
            for (int i = 0; i < 2000; i++) {
                burst.create(new float[] {1e30f, -7f, 3.5e10f, Float.MAX_VALUE});
            }
        }
    }

    private static NDArray forward(NDManager m, NDArray... inputs) {
        return encoder.forward(new ParameterStore(m, false), new NDList(inputs), false).head();
    }

    /** Counts forward calls and delegates to the wrapped layer. */
    private static final class Counting extends Linear {
        private final Linear inner;
        int calls;

        Counting(Linear inner) {
            super(Linear.builder().setUnits(SMALL.intermediateSize()));
            this.inner = inner;
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps,
                NDList inputs,
                boolean training,
                PairList<String, Object> params) {
            calls++;
            return inner.forward(ps, inputs, training, params);
        }
    }
}
