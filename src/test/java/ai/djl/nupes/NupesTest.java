package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.transform.BlockTransformer;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;

class NupesTest {

    private static NupesConfig.Builder quick(Method method, int bits) {
        return NupesConfig.builder()
                .optMethod(method)
                .setBits(bits)
                .optCalibrationSamples(256)
                .optIterations(60)
                .optSeed(11)
                .optCalibrationData(calibration());
    }

    private static FashionMnistIdx calibration() {
        try {
            return Fixtures.calibrationData();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<byte[]> codes(QuantizedModel q) {
        List<byte[]> out = new ArrayList<>();
        for (QuantizedLayer l : q.getLayers()) {
            out.add(l.getQuantizer().getQuantizedWeights().getCodes());
        }
        return out;
    }

    @Test
    void theSameSeedGivesIdenticalCodesTwice() throws Exception {
        List<byte[]> first;
        List<byte[]> second;
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            first = codes(Nupes.quantize(model, quick(Method.NUPES, 3).build()));
        }
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            second = codes(Nupes.quantize(model, quick(Method.NUPES, 3).build()));
        }
        assertEquals(first.size(), second.size());
        for (int i = 0; i < first.size(); i++) {
            assertArrayEquals(first.get(i), second.get(i), "layer " + i);
        }
    }

    @Test
    void nupesLowersEveryLayersReconstructionLoss() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            QuantizedModel q = Nupes.quantize(model, quick(Method.NUPES, 3).optIterations(150).build());
            QuantizationReport report = q.getReport();
            assertEquals(256, report.calibrationSamples());
            assertEquals(64, report.calibrationSha256().length());
            for (LayerReport l : report.layers()) {
                assertTrue(l.lossAfter() < l.lossBefore(), l.toString());
                assertTrue(Float.isFinite(l.exponent()), l.toString());
            }
        }
    }

    @Test
    void anInterruptedRunLeavesTheFloatModelUntouched() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP);
                NDManager manager = model.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 32);
            Block before = model.getBlock();
            float[] reference = Evaluation.predict(before, x, manager).head().toFloatArray();
            Thread.currentThread().interrupt();
            try {
                assertThrows(CancellationException.class, () -> Nupes.quantize(model, quick(Method.NUPES, 4).build()));
            } finally {
                Thread.interrupted(); // clear the flag for the next test
            }
            assertSame(before, model.getBlock());
            assertTrue(BlockTransformer.quantizedLayers(model.getBlock()).isEmpty());
            assertArrayEquals(reference, Evaluation.predict(model.getBlock(), x, manager).head().toFloatArray(), 0f);
        }
    }

    @Test
    void emptyCalibrationDataIsRefusedAndTheModelStaysFloat() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            NupesConfig config = quick(Method.NUPES, 4).optCalibrationData(List.<NDList>of()).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, config));
            assertTrue(e.getMessage().contains("empty"), e.getMessage());
            assertTrue(BlockTransformer.quantizedLayers(model.getBlock()).isEmpty());
        }
    }

    @Test
    void nupesBeatsPerLayerPowerQuantOnTheBundledCnnAtThreeBits() throws Exception {
        double powerQuant;
        double nupes;
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN);
                NDManager manager = model.getNDManager().newSubManager()) {
            FashionMnistIdx test = Fixtures.bundledTestSet(manager);
            QuantizedModel q = Nupes.quantize(model, NupesConfig.builder().setBits(3).build());
            powerQuant = Evaluation.accuracy(model.getBlock(), test, manager);
            q.restoreFloat();
            Nupes.quantize(
                    model,
                    NupesConfig.builder().setBits(3).optMethod(Method.NUPES).optSeed(1)
                            .optCalibrationData(calibration()).build());
            nupes = Evaluation.accuracy(model.getBlock(), test, manager);
        }
        assertTrue(nupes >= powerQuant + W3_MARGIN, "NUPES " + nupes + " vs PowerQuant " + powerQuant);
    }

    @Test
    void w8a8NupesOnTheBundledCnnStaysWithinAThirdOfAPointOfFloat() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN);
                NDManager manager = model.getNDManager().newSubManager()) {
            FashionMnistIdx test = Fixtures.bundledTestSet(manager);
            double floatAccuracy = Evaluation.accuracy(model.getBlock(), test, manager);
            QuantizedModel q =
                    Nupes.quantize(
                            model,
                            NupesConfig.builder().optPreset("W8A8").optMethod(Method.NUPES).optSeed(1)
                                    .optCalibrationData(calibration()).build());
            double accuracy = Evaluation.accuracy(model.getBlock(), test, manager);
            for (QuantizedLayer l : q.getLayers()) {
                assertEquals(8, l.getQuantizer().getInputQuantizer().bits(), l.getPath());
            }
            // measured with seed 0 (quantize --bits 8 --abits 8): 91.95 % vs float 92.10 % on the 2000 bundled images
            assertTrue(accuracy >= floatAccuracy - 0.003, "W8A8 " + accuracy + " vs float " + floatAccuracy);
        }
    }

    @Test
    void inputQuantizersPickSignedOrUnsignedGridsFromTheData() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.TRANSFORMER)) {
            QuantizedModel q =
                    Nupes.quantize(
                            model,
                            NupesConfig.builder().optPreset("W4A8").optCalibrationSamples(256)
                                    .optCalibrationData(calibration()).build());
            for (QuantizedLayer l : q.getLayers()) {
                boolean unsigned = l.getQuantizer().getInputQuantizer().unsigned();
                if (l.getPath().equals("02Linear")) {
                    assertTrue(unsigned, "image patches are non-negative");
                } else if (l.getPath().endsWith("keyProjection") || l.getPath().endsWith("07Linear")) {
                    assertTrue(!unsigned, l.getPath() + " sees normalised, signed inputs");
                } else if (l.getPath().endsWith("outputBlock/03Linear")) {
                    assertTrue(unsigned, l.getPath() + " follows a ReLU");
                }
            }
        }
    }

    /**
     * NUPES over per-layer PowerQuant on the bundled CNN at W3 (default 2^b-level grid), seed 1, on the
     * 2000 bundled test images. PowerQuant is 90.80 % every time; NUPES measured 91.80, 91.20, 92.10
     * and 91.85 % in four separate JVMs (the CPU convolution backward is not bit-reproducible across
     * processes), margins 0.4 to 1.3 pt; the gate asks for half the smallest.
     */
    private static final double W3_MARGIN = 0.002;
}
