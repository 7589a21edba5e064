package ai.djl.nupes.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Fixtures;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.nupes.transform.BlockTransformer;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.List;

class IntegerPathTest {

    private static Path export(TestModel testModel, NupesConfig config, Path dir) throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(testModel)) {
            FrozenExporter.export(Nupes.quantize(model, config), dir, ExportOptions.builder().build());
        }
        return dir;
    }

    private static ZooModel<NDList, NDList> load(Path dir, String path) throws Exception {
        return Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optModelPath(dir)
                .optArgument("path", path)
                .build()
                .loadModel();
    }

    /**
     * W4A8 on the symmetric grid and W3A4 on the half-integer grid; unsigned inputs after ReLU and
     * on images, signed inputs inside the transformer.
     */
    @ParameterizedTest
    @EnumSource(value = TestModel.class, mode = EnumSource.Mode.EXCLUDE, names = "LM")
    void theIntegerPathEqualsTheFloatPathWithinOneInTenToTheFiveOnEveryLayer(TestModel testModel, @TempDir Path tmp)
            throws Exception {
        for (String preset : new String[] {"W4A8", "W3A4"}) {
            NupesConfig config =
                    NupesConfig.builder()
                            .setBits(Integer.parseInt(preset.substring(1, 2)))
                            .optActivationBits(Integer.parseInt(preset.substring(3)))
                            .optCalibrationSamples(128)
                            .optCalibrationData(Fixtures.calibrationData())
                            .build();
            Path dir = export(testModel, config, tmp.resolve(testModel.id() + '-' + preset));
            try (ZooModel<NDList, NDList> frozen = load(dir, "integer");
                    NDManager manager = frozen.getNDManager().newSubManager()) {
                List<IntegerPathCheck.LayerDifference> rows =
                        IntegerPathCheck.run(frozen.getBlock(), Fixtures.testImages(manager, 4), manager);
                try (ZooModel<NDList, NDList> original = TestModels.load(testModel)) {
                    assertEquals(BlockTransformer.candidates(original.getBlock()).size(), rows.size(),
                            testModel.id() + ' ' + preset + ": every quantized layer is reached and checked");
                }
                for (IntegerPathCheck.LayerDifference row : rows) {
                    String what = testModel.id() + ' ' + preset + " layer " + row.path();
                    assertNull(row.unsupported(), what);
                    assertTrue(row.outputs() > 0 && row.maxAbsOutput() > 0, what + " produced no output");
                    assertTrue(row.relative() <= 1e-5, what + ": relative difference " + row.relative());
                }
            }
        }
    }

    @Test
    void aFrozenCnnOnTheIntegerPathClassifiesLikeTheFloatPath(@TempDir Path tmp) throws Exception {
        Path dir = export(TestModel.CNN, NupesConfig.builder().optPreset("W4A8").optCalibrationSamples(256).optCalibrationData(Fixtures.calibrationData()).build(),
                tmp.resolve("cnn"));
        try (ZooModel<NDList, NDList> viaFloat = load(dir, "float");
                ZooModel<NDList, NDList> viaInteger = load(dir, "integer");
                NDManager manager = viaFloat.getNDManager().newSubManager()) {
            NDList images = Fixtures.testImages(manager, 64);
            NDArray a = Evaluation.predict(viaFloat.getBlock(), images, manager).head();
            NDArray b = Evaluation.predict(viaInteger.getBlock(), images, manager).head();
            long[] classesFloat = a.argMax(1).toLongArray();
            long[] classesInteger = b.argMax(1).toLongArray();
            int agree = 0;
            for (int i = 0; i < classesFloat.length; i++) {
                agree += classesFloat[i] == classesInteger[i] ? 1 : 0;
            }
            // an input code can flip where the two paths differ by an ulp next to a rounding
            // boundary; the classes are what must survive
            assertTrue(agree >= 63, agree + " of 64 classes agree");
            float range = a.abs().max().getFloat();
            float diff = a.sub(b).abs().max().getFloat();
            assertTrue(diff <= 0.05f * range, "logits differ by " + diff + " of " + range);
        }
    }

    @Test
    void aWeightOnlyModelRefusesTheIntegerPathNamingTheLayer(@TempDir Path tmp) throws Exception {
        Path dir = export(TestModel.MLP, NupesConfig.builder().setBits(4).build(), tmp.resolve("mlp"));
        Exception e = assertThrows(Exception.class, () -> load(dir, "integer").close());
        String message = Fixtures.messages(e);
        assertTrue(message.contains("layer '") && message.contains("inputs are not quantized"), message);
        try (ZooModel<NDList, NDList> ok = load(dir, "float")) {
            assertTrue(ok.getBlock().isInitialized());
        }
    }

    @Test
    void anUnknownPathArgumentIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = export(TestModel.MLP, NupesConfig.builder().optPreset("W8A8").optCalibrationSamples(64).optCalibrationData(Fixtures.calibrationData()).build(),
                tmp.resolve("mlp"));
        Exception e = assertThrows(Exception.class, () -> load(dir, "int8").close());
        String message = Fixtures.messages(e);
        assertTrue(message.contains("path=int8") && message.contains("float, integer"), message);
    }

}
