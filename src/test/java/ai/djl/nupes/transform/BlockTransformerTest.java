package ai.djl.nupes.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.nupes.SeededArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.Fixtures;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.nupes.nn.QuantizedConv2d;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.nn.QuantizedLinear;
import ai.djl.nupes.nn.QuantizedWeightBlock;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

class BlockTransformerTest {

    private static final String ATTENTION = "/01selfAttention/";

    /** The layers each test model must have wrapped, in network order. */
    static final Map<TestModel, List<String>> EXPECTED =
            Map.of(
                    TestModel.MLP, List.of("02Linear", "04Linear", "06Linear"),
                    TestModel.CNN, List.of("01Conv2d", "04Conv2d", "08Linear", "11Linear"),
                    TestModel.RESNET, resnetLayers(),
                    TestModel.TRANSFORMER, transformerLayers());

    private static List<String> resnetLayers() {
        List<String> out = new ArrayList<>();
        out.add("01Conv2d");
        // 3 stages × 2 residual units; the first unit of every stage has a 1x1 projection shortcut
        int unit = 2;
        for (int stage = 0; stage < 3; stage++) {
            for (int u = 0; u < 2; u++, unit++) {
                String p = String.format("%02dParallelBlock", unit);
                out.add(p + "/01SequentialBlock/01Conv2d");
                out.add(p + "/01SequentialBlock/04Conv2d");
                if (u == 0) {
                    out.add(p + "/02SequentialBlock/01Conv2d");
                }
            }
        }
        out.add("10Linear");
        return out;
    }

    private static List<String> transformerLayers() {
        List<String> out = new ArrayList<>();
        out.add("02Linear");
        for (String enc : new String[] {"04TransformerEncoderBlock", "05TransformerEncoderBlock"}) {
            for (String proj : new String[] {"01keyProjection", "02queryProjection", "03valueProjection", "04resultProjection"}) {
                out.add(enc + ATTENTION + proj);
            }
            out.add(enc + "/03outputBlock/01Linear");
            out.add(enc + "/03outputBlock/03Linear");
        }
        out.add("07Linear");
        return out;
    }

    @ParameterizedTest
    @EnumSource(value = TestModel.class, mode = EnumSource.Mode.EXCLUDE, names = "LM")
    void wrapsExactlyTheExpectedLayersOfEachTestModel(TestModel testModel) throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(testModel)) {
            List<String> before = new ArrayList<>();
            for (LayerSelector.LayerCandidate c : BlockTransformer.candidates(model.getBlock())) {
                before.add(c.path());
            }
            assertEquals(EXPECTED.get(testModel), before);
            BlockTransformer.Result r = BlockTransformer.wrap(model.getBlock(), LayerSelector.allLayers(), W4);
            List<String> wrapped = new ArrayList<>();
            for (QuantizedLayer l : r.layers()) {
                wrapped.add(l.getPath());
            }
            assertEquals(EXPECTED.get(testModel), wrapped);
            assertEquals(wrapped.size(), BlockTransformer.quantizedLayers(r.root()).size());
            assertFalse(r.leftAsIs().isEmpty());
        }
    }

    @ParameterizedTest
    @EnumSource(value = TestModel.class, mode = EnumSource.Mode.EXCLUDE, names = "LM")
    void disabledQuantizationGivesBitIdenticalOutputs(TestModel testModel) throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(testModel);
                NDManager manager = model.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 64);
            float[] reference = Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray();
            QuantizedModel q =
                    Nupes.quantize(model, NupesConfig.builder().setBits(2).optMethod(Method.UNIFORM).build());
            float[] quantized = Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray();
            assertFalse(java.util.Arrays.equals(reference, quantized), "2-bit weights must change outputs");
            q.setQuantizationEnabled(false);
            assertArrayEquals(reference, Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray(), 0f);
            q.setQuantizationEnabled(true);
            q.restoreFloat();
            assertTrue(BlockTransformer.quantizedLayers(model.getBlock()).isEmpty());
            assertArrayEquals(reference, Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray(), 0f);
        }
    }

    private static final LayerSelector.Defaults W4 = new LayerSelector.Defaults(4, null, 32);
    /** For configs whose layer settings are read but which never calibrate. */
    private static final List<NDList> NO_DATA = List.of();

    @Test
    void attentionProjectionsHeldInTypedFieldsAreReallyQuantized() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.TRANSFORMER);
                NDManager manager = model.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 16);
            float[] reference = Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray();
            LayerSelector onlyKeys = LayerSelector.builder().optInclude("keyProjection").build();
            QuantizedModel q =
                    Nupes.quantize(
                            model,
                            NupesConfig.builder().setBits(2).optLayerSelector(onlyKeys).optMethod(Method.UNIFORM).build());
            assertEquals(2, q.getLayers().size());
            // the attention block calls its projections through private Linear fields: only the
            // field swap makes the 2-bit key projection visible in the output
            float[] out = Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray();
            assertFalse(java.util.Arrays.equals(reference, out));
            for (QuantizedLayer l : q.getLayers()) {
                assertInstanceOf(QuantizedLinear.class, l);
            }
        }
    }

    @Test
    void selectorAppliesIncludeExcludeOverridesAndFirstLastRule() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN)) {
            LayerSelector s =
                    LayerSelector.builder()
                            .optExclude("^11Linear$")
                            .optBits("04Conv2d", 5)
                            .optKeepFirstAndLastAt8Bits(true)
                            .build();
            LayerSelector.Defaults w3 = new LayerSelector.Defaults(3, null, 32);
            List<LayerSettings> settings = s.select(BlockTransformer.candidates(model.getBlock()), w3);
            assertEquals(8, settings.get(0).weights().getBits()); // first layer
            assertEquals(5, settings.get(1).weights().getBits()); // override
            assertEquals(3, settings.get(2).weights().getBits());
            assertEquals(null, settings.get(3)); // excluded (it was also the last)
            BlockTransformer.Result r = BlockTransformer.wrap(model.getBlock(), s, w3);
            assertEquals(3, r.layers().size());
            assertInstanceOf(QuantizedConv2d.class, r.layers().get(0));
            assertTrue(r.leftAsIs().stream().anyMatch(n -> n.startsWith("11Linear")), r.leftAsIs().toString());
            LayerSelector onlyConv =
                    LayerSelector.builder().optFilter(c -> c.block().getClass().getSimpleName().equals("Conv2d")).build();
            BlockTransformer.unwrap(model.getBlock());
            assertEquals(2, BlockTransformer.wrap(model.getBlock(), onlyConv, W4).layers().size());
        }
    }

    @Test
    void aPresetKeepsItsBitsWhenASelectorIsGiven() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN)) {
            LayerSelector firstLast8 =
                    LayerSelector.builder().optBits("04Conv2d", 3).optKeepFirstAndLastAt8Bits(true).build();
            // the preset's weight and input bits hold whichever of the two builder calls comes first
            for (NupesConfig config : List.of(
                    NupesConfig.builder().optPreset("W4A8").optLayerSelector(firstLast8).optCalibrationData(NO_DATA).build(),
                    NupesConfig.builder().optLayerSelector(firstLast8).optPreset("W4A8").optCalibrationData(NO_DATA).build())) {
                List<LayerSettings> settings =
                        firstLast8.select(BlockTransformer.candidates(model.getBlock()), config.getLayerDefaults());
                assertEquals(List.of(8, 3, 4, 8), settings.stream().map(l -> l.weights().getBits()).toList());
                assertEquals(List.of(8, 8, 8, 8), settings.stream().map(LayerSettings::activationBits).toList());
                // each layer's default grid follows its own bits: 2^b levels at 3 bits
                assertEquals(
                        List.of(Grid.SYMMETRIC, Grid.HALF_INTEGER, Grid.SYMMETRIC, Grid.SYMMETRIC),
                        settings.stream().map(l -> l.weights().getGrid()).toList());
            }
            NupesConfig forced = NupesConfig.builder().setBits(3).optGrid(Grid.SYMMETRIC).build();
            for (LayerSettings l : LayerSelector.allLayers().select(
                    BlockTransformer.candidates(model.getBlock()), forced.getLayerDefaults())) {
                assertEquals(3, l.weights().getBits());
                assertEquals(Grid.SYMMETRIC, l.weights().getGrid());
                assertFalse(l.quantizesInputs());
            }
        }
    }

    @Test
    void conv1dAndUserBlocksWithChildrenAreWrapped() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock net =
                    new SequentialBlock()
                            .add(Conv1d.builder().setKernelShape(new Shape(3)).setFilters(4).build())
                            .add(Activation.reluBlock())
                            .add(new Holder(Linear.builder().setUnits(5).build()));
            net.initialize(manager, DataType.FLOAT32, new Shape(2, 2, 8));
            SeededArrays.reinitialize(net, 3);
            NDArray x = SeededArrays.gaussian(manager, 4, new Shape(2, 2, 8));
            float[] reference = forward(net, x, manager);
            BlockTransformer.Result r = BlockTransformer.wrap(net, LayerSelector.allLayers(), new LayerSelector.Defaults(8, null, 32));
            assertEquals(List.of("01Conv1d", "03Holder/01inner"), r.layers().stream().map(QuantizedLayer::getPath).toList());
            assertInstanceOf(QuantizedWeightBlock.class, r.layers().get(0));
            Holder holder = (Holder) net.getChildren().get(2).getValue();
            assertSame(r.layers().get(1), holder.inner, "the typed field follows the swap");
            for (QuantizedLayer l : r.layers()) {
                l.getQuantizer().setEnabled(false);
            }
            assertArrayEquals(reference, forward(net, x, manager), 0f);
        }
    }

    @Test
    void aTypedFieldThatCannotHoldTheWrapperIsReportedAndNothingChanges() {
        try (NDManager manager = NDManager.newBaseManager()) {
            ConvHolder holder = new ConvHolder(Conv1d.builder().setKernelShape(new Shape(3)).setFilters(4).build());
            holder.initialize(manager, DataType.FLOAT32, new Shape(1, 2, 8));
            Block before = holder.conv;
            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> BlockTransformer.wrap(holder, LayerSelector.allLayers(), W4));
            assertTrue(e.getMessage().contains("01conv") && e.getMessage().contains("ConvHolder.conv"), e.getMessage());
            assertSame(before, holder.conv);
            assertSame(before, holder.getChildren().get(0).getValue());
        }
    }

    @Test
    void nanWeightFailsNamingTheLayerAndLeavesTheModelFloat() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            Block root = model.getBlock();
            NDArray w = root.getChildren().get(3).getValue().getParameters().get("weight").getArray();
            float saved = w.getFloat(0, 0);
            w.set(new ai.djl.ndarray.index.NDIndex(0, 0), Float.NaN);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, NupesConfig.builder().build()));
            assertTrue(e.getMessage().contains("04Linear"), e.getMessage());
            assertSame(root, model.getBlock());
            assertTrue(BlockTransformer.quantizedLayers(model.getBlock()).isEmpty(), "rolled back");
            w.set(new ai.djl.ndarray.index.NDIndex(0, 0), saved);
        }
    }

    @Test
    void quantizingAnAlreadyQuantizedModelIsRefused() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            Nupes.quantize(model, NupesConfig.builder().build());
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, NupesConfig.builder().build()));
            assertTrue(e.getMessage().contains("already quantized"), e.getMessage());
        }
    }

    private static float[] forward(Block block, NDArray x, NDManager manager) {
        return block.forward(new ParameterStore(manager, false), new NDList(x), false).head().toFloatArray();
    }

    /** A user block that keeps its child in a typed field and calls it through the field. */
    static final class Holder extends AbstractBlock {
        Linear inner;

        Holder(Linear inner) {
            this.inner = addChildBlock("inner", inner);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            return inner.forward(ps, in, training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return inner.getOutputShapes(inputs);
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            inner.initialize(manager, dataType, inputShapes);
        }
    }

    /** A user block whose Conv1d field cannot hold a wrapper. */
    static final class ConvHolder extends AbstractBlock {
        Conv1d conv;

        ConvHolder(Conv1d conv) {
            this.conv = addChildBlock("conv", conv);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            return conv.forward(ps, in, training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return conv.getOutputShapes(inputs);
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            conv.initialize(manager, dataType, inputShapes);
        }
    }
}
