package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.nupes.transform.BlockTransformer;
import ai.djl.nupes.transform.LayerSelector;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import org.junit.jupiter.api.Test;

import java.util.List;

/** Every bad input fails with a message naming what is wrong, and the user's model stays float. */
class BadInputTest {

    private static void assertModelUntouched(ZooModel<NDList, NDList> model, Block before, NDList x, float[] reference,
            NDManager manager) {
        assertSame(before, model.getBlock());
        assertTrue(BlockTransformer.quantizedLayers(model.getBlock()).isEmpty());
        assertArrayEquals(reference, Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray(), 0f);
    }

    @Test
    void aDataDrivenMethodWithoutCalibrationDataFailsNamingHowToPassIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NupesConfig.builder().optMethod(Method.NUPES).build());
        assertTrue(e.getMessage().contains("method nupes learns from calibration data")
                && e.getMessage().contains("optCalibrationData"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NupesConfig.builder().optPreset("W4A8").build());
        assertTrue(e.getMessage().contains("activation bits 8") && e.getMessage().contains("optCalibrationData"),
                e.getMessage());
    }

    @Test
    void calibrationInputsThatDoNotFitTheModelFailNamingTheLayerAndTheShape() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP);
                NDManager manager = model.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 8);
            Block before = model.getBlock();
            float[] reference = Evaluation.predict(before, x, manager).head().toFloatArray();
            NDList wrong = new NDList(SeededArrays.gaussian(manager, 1, new Shape(8, 3, 10)));
            NupesConfig config = NupesConfig.builder().optMethod(Method.NUPES).optCalibrationData(List.of(wrong)).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, config));
            assertTrue(e.getMessage().contains("(2, 3, 10)") && e.getMessage().contains("'mlp'")
                    && e.getMessage().contains("before its first quantized layer '02Linear'"), e.getMessage());
            assertModelUntouched(model, before, x, reference, manager);
        }
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN);
                NDManager manager = model.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 8);
            Block before = model.getBlock();
            float[] reference = Evaluation.predict(before, x, manager).head().toFloatArray();
            // 20x20 images pass both convolutions and reach the first Linear with 1600 features, not 3136
            NDList small = new NDList(SeededArrays.gaussian(manager, 1, new Shape(8, 1, 20, 20)));
            NupesConfig config = NupesConfig.builder().optMethod(Method.NUPES).optCalibrationData(List.of(small)).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, config));
            assertTrue(e.getMessage().contains("at or after layer '08Linear' (its input: (2, 1600)), before layer"
                    + " '11Linear'"), e.getMessage());
            assertModelUntouched(model, before, x, reference, manager);
        }
    }

    @Test
    void aNonFiniteCalibrationSampleFailsNamingTheSample() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN);
                NDManager manager = model.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 8);
            Block before = model.getBlock();
            float[] reference = Evaluation.predict(before, x, manager).head().toFloatArray();
            NDArray images = Fixtures.testImages(manager, 16).head().duplicate();
            images.set(new ai.djl.ndarray.index.NDIndex("5, 0, 3, 7"), Float.NaN);
            NupesConfig config = NupesConfig.builder().setBits(4).optActivationBits(8)
                    .optCalibrationData(List.of(new NDList(images))).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, config));
            assertTrue(e.getMessage().contains("calibration sample 5") && e.getMessage().contains("NaN")
                    && e.getMessage().contains("flat index 91"), e.getMessage());
            assertModelUntouched(model, before, x, reference, manager);
        }
    }

    @Test
    void aModelWithNoQuantizableLayerIsRefusedListingWhatItHas() {
        try (Model model = Model.newInstance("activations");
                NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock block = new SequentialBlock().add(Activation.reluBlock()).add(Activation.tanhBlock());
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 4));
            model.setBlock(block);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Nupes.quantize(model, NupesConfig.builder().build()));
            assertTrue(e.getMessage().contains("no layer to quantize")
                    && e.getMessage().contains("01LambdaBlock (LambdaBlock)"), e.getMessage());
            assertSame(block, model.getBlock());
        }
    }

    @Test
    void aSelectorThatExcludesEveryLayerIsRefused() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            NupesConfig config = NupesConfig.builder()
                    .optLayerSelector(LayerSelector.builder().optInclude("no-such-layer").build()).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, config));
            assertTrue(e.getMessage().contains("passed the selector") && e.getMessage().contains("02Linear"),
                    e.getMessage());
            assertTrue(BlockTransformer.quantizedLayers(model.getBlock()).isEmpty());
        }
    }

    @Test
    void aLayerTheForwardPassNeverReachesIsNamedBeforeCalibration() {
        try (Model model = Model.newInstance("skips");
                NDManager manager = NDManager.newBaseManager()) {
            SkipsSecond block = new SkipsSecond();
            block.initialize(manager, DataType.FLOAT32, new Shape(2, 4));
            model.setBlock(block);
            NDList data = new NDList(SeededArrays.gaussian(manager, 2, new Shape(8, 4)));
            NupesConfig config = NupesConfig.builder().optMethod(Method.NUPES).optCalibrationData(List.of(data)).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, config));
            assertTrue(e.getMessage().contains("never reaches layer '02unused'"), e.getMessage());
            assertSame(block, model.getBlock());
        }
    }

    /** Two Linear children, of which the forward pass uses only the first. */
    private static final class SkipsSecond extends AbstractBlock {
        private final Block used;

        SkipsSecond() {
            used = addChildBlock("used", Linear.builder().setUnits(3).build());
            addChildBlock("unused", Linear.builder().setUnits(3).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
            return getChildren().get(0).getValue().forward(ps, inputs, training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return used.getOutputShapes(inputs);
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            for (Block b : getChildren().values()) {
                b.initialize(manager, dataType, inputShapes);
            }
        }
    }
}
