package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.imports.TokenEmbedding;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.nupes.transform.BlockTransformer;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Group-wise scales and quantized weight tables, from the quantizer to the frozen file. */
class GroupWiseScalesTest {

    private static float[] laplace(Random r, int n, float scale) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            double u = r.nextDouble() - 0.5;
            w[i] = (float) (-scale * Math.signum(u) * Math.log(1 - 2 * Math.abs(u)));
        }
        return w;
    }

    @Test
    void groupWiseEqualsPerChannelWhenTheGroupIsTheWholeChannel() {
        float[] w = laplace(new Random(1), 8 * 64, 0.05f);
        long[] shape = {8, 64};
        for (int bits : new int[] {2, 3, 4, 8}) {
            QuantizerSpec perChannel = QuantizerSpec.of(bits);
            QuantizedWeights reference = PowerQuantizer.quantize("fc", w, shape, perChannel, new float[] {0.7f});
            for (int g : new int[] {64, 128}) {
                QuantizedWeights grouped =
                        PowerQuantizer.quantize("fc", w, shape, perChannel.withGroupSize(g), new float[] {0.7f});
                assertArrayEquals(reference.getCodes(), grouped.getCodes(), "W" + bits + " g" + g);
                assertArrayEquals(reference.getMaxima(), grouped.getMaxima(), 0f);
                assertArrayEquals(reference.decode(), grouped.decode(), 0f);
            }
        }
    }

    @Test
    void aRaggedLastGroupTakesTheChannelsLastWeights() {
        // 70 weights per channel in groups of 32: 32 + 32 + 6
        float[] w = new float[2 * 70];
        Arrays.fill(w, 0.01f);
        w[5] = 0.5f;   // channel 0, group 0
        w[40] = -0.7f; // channel 0, group 1
        w[66] = 0.3f;  // channel 0, group 2 (the short one)
        w[70 + 69] = 0.9f; // channel 1, group 2
        QuantizedWeights q = PowerQuantizer.quantize(
                "fc", w, new long[] {2, 70}, QuantizerSpec.of(4).withGroupSize(32), new float[] {1f});
        assertArrayEquals(new float[] {0.5f, 0.7f, 0.3f, 0.01f, 0.01f, 0.9f}, q.getMaxima(), 0f);
        float[] decoded = q.decode();
        for (int i : new int[] {5, 40, 66, 139}) {
            assertEquals(w[i], decoded[i], 1e-7f, "a group's maximum decodes exactly at weight " + i);
        }
        assertEquals(4 + 32.0 * (6 + 1) / 140, q.bitsPerWeight(), 1e-12);
    }

    @Test
    void groupsOfThirtyTwoHaveLessWeightErrorThanOneScalePerChannelOnWeightsWithOutliers() {
        Random r = new Random(2);
        float[] w = laplace(r, 16 * 256, 0.02f);
        for (int c = 0; c < 16; c++) {
            w[c * 256 + r.nextInt(256)] *= 40; // one large outlier per channel
        }
        long[] shape = {16, 256};
        double perChannel = error(w, PowerQuantizer.quantize("fc", w, shape, QuantizerSpec.of(4), new float[] {0.6f}));
        double grouped = error(w, PowerQuantizer.quantize(
                "fc", w, shape, QuantizerSpec.of(4).withGroupSize(32), new float[] {0.6f}));
        assertTrue(grouped < 0.5 * perChannel, "g32 " + grouped + " vs per channel " + perChannel);
    }

    private static double error(float[] w, QuantizedWeights q) {
        float[] d = q.decode();
        double e = 0;
        for (int i = 0; i < w.length; i++) {
            e += (w[i] - d[i]) * (w[i] - d[i]);
        }
        return e;
    }

    @Test
    void aGroupedNupesModelReloadsBitExactThroughCriteria(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cnn-g32");
        float[] expected;
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN);
                NDManager manager = model.getNDManager().newSubManager()) {
            QuantizedModel q = Nupes.quantize(model, NupesConfig.builder().setBits(3).optGroupSize(32)
                    .optMethod(Method.NUPES).optIterations(30).optCalibrationSamples(128)
                    .optCalibrationData(Fixtures.calibrationData()).build());
            for (QuantizedLayer l : q.getLayers()) {
                QuantizedWeights w = l.getQuantizer().getQuantizedWeights();
                int perChannel = w.size() / (int) w.getShape()[0];
                assertEquals(w.getShape()[0] * ((perChannel + 31) / 32), w.getMaxima().length, l.getPath());
            }
            expected = Evaluation.predict(model.getBlock(), Fixtures.testImages(manager, 64), manager)
                    .head().toFloatArray();
            FrozenExporter.export(q, dir, ExportOptions.builder().build());
        }
        Manifest manifest = Manifest.read(dir.resolve(Manifest.FILE));
        assertEquals(3, manifest.formatVersion());
        manifest.layers().forEach(l -> assertEquals(32, l.groupSize(), l.path()));
        try (ZooModel<NDList, NDList> frozen = load(dir, Map.of());
                ZooModel<NDList, NDList> lazy = load(dir, Map.of("decode", "each-forward"));
                NDManager manager = frozen.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 64);
            assertArrayEquals(expected, Evaluation.predict(frozen.getBlock(), x, manager).head().toFloatArray(), 0f);
            assertArrayEquals(expected, Evaluation.predict(lazy.getBlock(), x, manager).head().toFloatArray(), 0f);
        }
    }

    @Test
    void aFormatOneFrozenModelWithoutGroupsStillLoads() throws Exception {
        Path old = Path.of("zoo-configs/model/cv/image_classification/ai/djl/nupes/cnn/0.1.0/w4");
        assertEquals(1, Manifest.read(old.resolve(Manifest.FILE)).formatVersion());
        try (ZooModel<NDList, NDList> frozen = load(old, Map.of());
                NDManager manager = frozen.getNDManager().newSubManager()) {
            double accuracy = Evaluation.accuracy(frozen.getBlock(), Fixtures.bundledTestSet(manager), manager);
            assertTrue(accuracy > 0.88, "format-1 W4 CNN classifies at " + accuracy);
        }
    }

    @Test
    void weightTablesAreQuantizedPerRowOrPerGroupOnlyWhenAskedAndReloadBitExact(@TempDir Path tmp) throws Exception {
        for (int group : new int[] {0, 8}) {
            try (Model model = Model.newInstance("tokens");
                    NDManager manager = NDManager.newBaseManager()) {
                SequentialBlock block = new SequentialBlock()
                        .add(new TokenEmbedding(50, 24))
                        .add(Linear.builder().setUnits(5).build());
                block.initialize(manager, DataType.FLOAT32, new Shape(2, 7));
                SeededArrays.reinitialize(block, 3);
                model.setBlock(block);
                long[] tokens = new long[2 * 7];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = (i * 7) % 50;
                }
                NDList x = new NDList(manager.create(tokens, new Shape(2, 7)));
                NupesConfig floatTables = NupesConfig.builder().setBits(4).optGroupSize(group).build();
                QuantizedModel q = Nupes.quantize(model, floatTables);
                assertEquals(List.of("02Linear"), q.getLayers().stream().map(QuantizedLayer::getPath).toList());
                q.restoreFloat();
                q = Nupes.quantize(model, NupesConfig.builder().setBits(4).optGroupSize(group).optEmbeddingBits(4)
                        .build());
                assertEquals(List.of("01TokenEmbedding", "02Linear"),
                        q.getLayers().stream().map(QuantizedLayer::getPath).toList());
                QuantizedWeights table = q.getLayers().get(0).getQuantizer().getQuantizedWeights();
                assertEquals(group == 0 ? 50 : 50 * 3, table.getMaxima().length, "one scale per row or per group of 8");
                assertNull(q.getLayers().get(0).getQuantizer().getInputQuantizer());
                float[] expected = model.getBlock()
                        .forward(new ai.djl.training.ParameterStore(manager, false), x, false).head().toFloatArray();
                Path dir = tmp.resolve("tokens-g" + group);
                FrozenExporter.export(q, dir, ExportOptions.builder()
                        .optArchitecture(TokensFactory.class.getName(), Map.of()).build());
                try (ZooModel<NDList, NDList> frozen = load(dir, Map.of())) {
                    NDList y = frozen.newPredictor().predict(new NDList(frozen.getNDManager().create(tokens, new Shape(2, 7))));
                    assertArrayEquals(expected, y.head().toFloatArray(), 0f, "g" + group);
                }
                assertTrue(BlockTransformer.quantizedLayers(q.getModel().getBlock()).size() == 2);
            }
        }
    }

    private static ZooModel<NDList, NDList> load(Path dir, Map<String, String> arguments) throws Exception {
        Criteria.Builder<NDList, NDList> b = Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(dir);
        arguments.forEach(b::optArgument);
        return b.build().loadModel();
    }

    /** Rebuilds the two-block token model for the frozen export above. */
    public static final class TokensFactory implements ai.djl.nn.BlockFactory {
        private static final long serialVersionUID = 1L;

        @Override
        public ai.djl.nn.Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) {
            return new SequentialBlock().add(new TokenEmbedding(50, 24)).add(Linear.builder().setUnits(5).build());
        }
    }
}
