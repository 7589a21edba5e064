package ai.djl.nupes.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import ai.djl.nupes.LayerReport;
import ai.djl.nupes.Method;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.SeededArrays;
import ai.djl.nupes.StagedBlock;
import ai.djl.nupes.imports.BertConfig;
import ai.djl.nupes.imports.BertEncoder;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.transform.BlockTransformer;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Calibration stage by stage: every layer gets the inputs a capture from the model's inputs gives,
 * only one stage's activations are held, and stages that are not the forward pass are refused.
 */
class StageActivationsTest {

    private static final int SAMPLES = 300; // three capture chunks, the last one short
    private static final int TOKENS = 7;

    private static SequentialBlock mlp() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(24).build())
                .add(Activation.reluBlock())
                .add(new SequentialBlock().add(Linear.builder().setUnits(16).build()).add(Activation.reluBlock()))
                .add(Linear.builder().setUnits(5).build());
    }

    /** The small encoder, initialized with seeded weights. */
    private static BertEncoder encoder(NDManager manager) {
        BertEncoder block = new BertEncoder(new BertConfig(50, 16, 3, 2, 32, TOKENS, 2, 1e-12f, -10000f));
        Shape ids = new Shape(SAMPLES, TOKENS);
        block.initialize(manager, DataType.FLOAT32, ids, ids, ids);
        SeededArrays.reinitialize(block, 6);
        return block;
    }

    /** Token ids, an attention mask (sample s has 2 + s % 6 tokens) and token types, seeded. */
    private static NDList tokens(NDManager manager) {
        Random r = new Random(11);
        long[] ids = new long[SAMPLES * TOKENS];
        long[] mask = new long[SAMPLES * TOKENS];
        for (int s = 0; s < SAMPLES; s++) {
            for (int t = 0; t < 2 + s % 6; t++) {
                ids[s * TOKENS + t] = 1 + r.nextInt(49);
                mask[s * TOKENS + t] = 1;
            }
        }
        Shape shape = new Shape(SAMPLES, TOKENS);
        return new NDList(manager.create(ids, shape), manager.create(mask, shape), manager.zeros(shape, DataType.INT64));
    }

    private static BlockTransformer.Result wrap(Block block, NupesConfig config) {
        return BlockTransformer.wrap(block, config.getSelector(), config.getLayerDefaults());
    }

    private static NupesConfig config(Method method) {
        // the calibration data is handed to the calibration directly; the config only needs some
        return NupesConfig.builder().setBits(3).optMethod(method).optIterations(15).optBatchSize(32).optSeed(5)
                .optCalibrationData(List.<NDList>of()).build();
    }

    /** The float weights, data-free quantized (PowerQuant per layer), as calibration would leave them. */
    private static void quantizeDataFree(QuantizedLayer layer) {
        DataFreeCalibration.quantizeLayer(layer.getQuantizer(), Method.POWERQUANT_LAYER, null);
        layer.getQuantizer().setEnabled(true);
    }

    private static void assertSameInputsStageByStage(Block block, NDList inputs, NDManager manager) {
        BlockTransformer.Result wrapped = wrap(block, config(Method.NUPES));
        List<QuantizedLayer> layers = wrapped.layers();
        for (QuantizedLayer l : layers) {
            l.getQuantizer().setEnabled(false);
        }
        try (CalibrationData data = CalibrationData.of(List.of(inputs), SAMPLES, manager);
                StageActivations staged =
                        StageActivations.of(wrapped.root(), layers, data, true, true, manager);
                StageActivations whole =
                        StageActivations.of(wrapped.root(), layers, data, true, false, manager)) {
            assertTrue(staged.stageCount() > 2, "stages: " + staged.stageCount());
            assertEquals(1, whole.stageCount());
            for (int i = 0; i < layers.size(); i++) {
                try (NDManager unit = manager.newSubManager()) {
                    for (boolean floatModel : new boolean[] {false, true}) {
                        NDArray expected = whole.capture(i, floatModel, unit);
                        NDArray actual = staged.capture(i, floatModel, unit);
                        assertEquals(expected.getShape(), actual.getShape(), layers.get(i).getPath());
                        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(),
                                layers.get(i).getPath() + (floatModel ? " float" : " quantized") + " inputs");
                    }
                }
                quantizeDataFree(layers.get(i));
            }
        }
    }

    @Test
    void everyLayerOfANestedSequentialBlockGetsTheInputsOfACaptureFromTheModelInputs() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = mlp();
            block.initialize(manager, DataType.FLOAT32, new Shape(SAMPLES, 12));
            SeededArrays.reinitialize(block, 3);
            NDArray x = SeededArrays.gaussian(manager, 4, new Shape(SAMPLES, 12));
            assertSameInputsStageByStage(block, new NDList(x), manager);
        }
    }

    @Test
    void everyLayerOfAPaddedBertEncoderGetsTheInputsOfACaptureFromTheModelInputs() {
        try (NDManager manager = NDManager.newBaseManager()) {
            BertEncoder block = encoder(manager);
            assertSameInputsStageByStage(block, tokens(manager), manager);
        }
    }

    @Test
    void calibratingStageByStageGivesTheCodesOfCalibratingFromTheModelInputs() {
        for (Method method : new Method[] {Method.NUPES, Method.GPTQ_POWER}) {
            assertEquals(codes(method, false), codes(method, true), method.toString());
        }
    }

    /** Every layer's codes and reconstruction losses after calibrating the small encoder. */
    private static List<String> codes(Method method, boolean byStage) {
        try (NDManager manager = NDManager.newBaseManager()) {
            BertEncoder block = encoder(manager);
            NupesConfig config = config(method);
            BlockTransformer.Result wrapped = wrap(block, config);
            try (CalibrationData data = CalibrationData.of(List.of(tokens(manager)), SAMPLES, manager)) {
                data.withPaddingMask(1);
                List<LayerReport> reports =
                        new LayerwiseCalibration(config.getCalibrationSettings(), config.getInputEstimator(), byStage)
                                .run(wrapped.root(), wrapped.layers(), data, method, manager);
                List<String> out = new ArrayList<>();
                for (int i = 0; i < reports.size(); i++) {
                    out.add(reports.get(i).path() + " " + reports.get(i).lossAfter() + " "
                            + java.util.Arrays.toString(
                                    wrapped.layers().get(i).getQuantizer().getQuantizedWeights().getCodes()));
                }
                assertEquals(block.getStages().size() * 6 - 6, out.size());
                return out;
            }
        }
    }

    @Test
    void calibrationHoldsOneStagesActivations() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = mlp();
            block.initialize(manager, DataType.FLOAT32, new Shape(SAMPLES, 12));
            SeededArrays.reinitialize(block, 3);
            BlockTransformer.Result wrapped = wrap(block, config(Method.NUPES));
            List<QuantizedLayer> layers = wrapped.layers();
            NDArray x = SeededArrays.gaussian(manager, 4, new Shape(SAMPLES, 12));
            // the inputs of each layer's stage: 12, 24 (after the ReLU), 16 values a sample
            int[] widths = {12, 24, 16};
            try (CalibrationData data = CalibrationData.of(List.of(new NDList(x)), SAMPLES, manager);
                    StageActivations staged = StageActivations.of(wrapped.root(), layers, data, true, manager)) {
                for (int i = 0; i < layers.size(); i++) {
                    try (NDManager unit = manager.newSubManager()) {
                        staged.capture(i, false, unit);
                        assertEquals(2L * SAMPLES * widths[i] * Float.BYTES, staged.heldBytes(),
                                "at " + layers.get(i).getPath() + " (stage " + staged.currentStage() + ")");
                    }
                    quantizeDataFree(layers.get(i));
                }
            }
        }
    }

    /** Its stages skip the second layer, so they are not its forward pass. */
    private static final class WrongStages extends AbstractBlock implements StagedBlock {
        private final Block first = addChildBlock("first", Linear.builder().setUnits(8).build());
        private final Block second = addChildBlock("second", Linear.builder().setUnits(8).build());

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            return second.forward(ps, first.forward(ps, inputs, training), training);
        }

        @Override
        public List<Stage> getStages() {
            return List.of(Stage.of("first", first), Stage.of("second", second, (ps, in, training) -> in));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {new Shape(inputShapes[0].get(0), 8)};
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            first.initialize(manager, dataType, inputShapes[0]);
            second.initialize(manager, dataType, new Shape(inputShapes[0].get(0), 8));
        }
    }

    @Test
    void stagesThatAreNotTheForwardPassAreRefusedNamingTheBlock() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = new WrongStages();
            block.initialize(manager, DataType.FLOAT32, new Shape(SAMPLES, 8));
            SeededArrays.reinitialize(block, 2);
            BlockTransformer.Result wrapped = wrap(block, config(Method.NUPES));
            NDArray x = SeededArrays.gaussian(manager, 4, new Shape(SAMPLES, 8));
            try (CalibrationData data = CalibrationData.of(List.of(new NDList(x)), SAMPLES, manager)) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class,
                                () -> StageActivations.of(wrapped.root(), wrapped.layers(), data, true, manager));
                assertTrue(e.getMessage().contains("WrongStages") && e.getMessage().contains("do not reproduce"),
                        e.getMessage());
            }
        }
    }

    /** The small encoder calibrated by stage; padded positions' ids set to {@code padId}. */
    private static List<LayerReport> byStage(long padId, List<QuantizedLayer> out) {
        try (NDManager manager = NDManager.newBaseManager()) {
            BertEncoder block = encoder(manager);
            NDList batch = tokens(manager);
            NDArray real = batch.get(1).eq(1);
            batch.set(0, batch.get(0).mul(real.toType(DataType.INT64, false)).add(real.logicalNot().toType(DataType.INT64, false).mul(padId)));
            NupesConfig config =
                    NupesConfig.builder().setBits(3).optMethod(Method.NUPES).optIterations(60).optBatchSize(32)
                            .optSeed(5).optReconstructionUnit(ReconstructionUnit.STAGE)
                            .optCalibrationData(List.<NDList>of()).build();
            BlockTransformer.Result wrapped = wrap(block, config);
            try (CalibrationData data = CalibrationData.of(List.of(batch), SAMPLES, manager)) {
                data.withPaddingMask(1);
                List<LayerReport> reports =
                        new LayerwiseCalibration(config.getCalibrationSettings(), config.getInputEstimator())
                                .run(wrapped.root(), wrapped.layers(), data, Method.NUPES, manager);
                for (QuantizedLayer l : wrapped.layers()) {
                    out.add(l);
                }
                return reports;
            }
        }
    }

    @Test
    void reconstructingAnEncoderLayerAsOneStageLowersItsOutputLossBelowTheDataFreeCodes() {
        List<QuantizedLayer> layers = new ArrayList<>();
        List<LayerReport> reports = byStage(0, layers);
        assertEquals(18, reports.size());
        for (LayerReport r : reports) {
            // measured: the three stages fell to 0.32, 0.14 and 0.03 of the data-free codes' loss in 60 steps
            assertTrue(r.lossAfter() < 0.7 * r.lossBefore(), r.path() + ": " + r.lossBefore() + " -> " + r.lossAfter());
        }
    }

    @Test
    void paddedTokensNeverEnterTheStageLoss() {
        List<QuantizedLayer> a = new ArrayList<>();
        List<QuantizedLayer> b = new ArrayList<>();
        List<LayerReport> ra = byStage(0, a);
        List<LayerReport> rb = byStage(37, b);
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i).getQuantizer().getQuantizedWeights().getCodes(),
                    b.get(i).getQuantizer().getQuantizedWeights().getCodes(), a.get(i).getPath());
            assertEquals(ra.get(i).lossAfter(), rb.get(i).lossAfter(), a.get(i).getPath());
        }
    }

    @Test
    void gptqRoundingIsRefusedByStageAndStagesKeepTheirLearnedCodesByDefault() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NupesConfig.builder().setBits(4).optMethod(Method.NUPES).optReconstructionUnit(ReconstructionUnit.STAGE)
                        .optFinalRounding(FinalRounding.BEST_OF_LEARNED_AND_GPTQ)
                        .optCalibrationData(List.<NDList>of()).build());
        assertEquals("final rounding best-of-learned-and-gptq works layer by layer; with reconstruction unit stage"
                + " a stage's layers keep their learned codes", e.getMessage());
        NupesConfig byStage = NupesConfig.builder().setBits(4).optMethod(Method.NUPES)
                .optReconstructionUnit(ReconstructionUnit.STAGE).optCalibrationData(List.<NDList>of()).build();
        assertEquals(FinalRounding.LEARNED, byStage.getCalibrationSettings().finalRounding());
        NupesConfig byLayer = NupesConfig.builder().setBits(4).optMethod(Method.NUPES)
                .optCalibrationData(List.<NDList>of()).build();
        assertEquals(NupesConfig.DEFAULT_FINAL_ROUNDING, byLayer.getCalibrationSettings().finalRounding());
    }

    @Test
    void reconstructionByStageIsRefusedForGptq() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NupesConfig.builder().setBits(4).optMethod(Method.GPTQ).optReconstructionUnit(ReconstructionUnit.STAGE)
                        .optCalibrationData(List.<NDList>of()).build());
        assertTrue(e.getMessage().contains("gptq quantizes layer by layer"), e.getMessage());
    }
}
