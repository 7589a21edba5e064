package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** GPTQ through the public entry call, on the bundled test models. */
class GptqModelTest {

    private static NupesConfig gptq(Method method, int bits, int groupSize) throws Exception {
        return NupesConfig.builder()
                .setBits(bits)
                .optGroupSize(groupSize)
                .optMethod(method)
                .optCalibrationSamples(256)
                .optCalibrationData(Fixtures.calibrationData())
                .build();
    }

    private static double accuracy(TestModel which, NupesConfig config) throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(which);
                NDManager manager = model.getNDManager().newSubManager()) {
            QuantizedModel q = Nupes.quantize(model, config);
            if (config.getMethod().isGptq()) {
                for (LayerReport l : q.getReport().layers()) {
                    assertTrue(
                            l.lossAfter() < l.lossBefore(),
                            l.path() + ": GPTQ objective " + l.lossAfter() + " not below round-to-nearest "
                                    + l.lossBefore());
                }
            }
            return Evaluation.accuracy(model.getBlock(), Fixtures.bundledTestSet(manager), manager);
        }
    }

    @Test
    void threeBitGptqLowersEveryLayersOutputErrorAndBeatsRoundToNearestOnTheMlp() throws Exception {
        double rtn = accuracy(TestModel.MLP, NupesConfig.builder().setBits(3).optMethod(Method.UNIFORM).build());
        double gptq = accuracy(TestModel.MLP, gptq(Method.GPTQ, 3, 0));
        System.out.printf("MLP W3: uniform %.4f, gptq %.4f%n", rtn, gptq);
        assertTrue(gptq > rtn + 0.01, "gptq " + gptq + " vs uniform " + rtn);
    }

    @Test
    void groupedGptqPowerOnTheCnnReloadsBitExactThroughCriteria(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cnn-gptq-power");
        float[] expected;
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN);
                NDManager manager = model.getNDManager().newSubManager()) {
            QuantizedModel q = Nupes.quantize(model, gptq(Method.GPTQ_POWER, 3, 32));
            assertEquals(Method.GPTQ_POWER, q.getReport().method());
            for (LayerReport l : q.getReport().layers()) {
                assertTrue(l.lossAfter() < l.lossBefore(), l.path() + " " + l);
            }
            expected = Evaluation.predict(model.getBlock(), Fixtures.testImages(manager, 64), manager)
                    .head().toFloatArray();
            FrozenExporter.export(q, dir, ExportOptions.builder().build());
        }
        try (ZooModel<NDList, NDList> frozen =
                        Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(dir).build().loadModel();
                NDManager manager = frozen.getNDManager().newSubManager()) {
            NDList x = Fixtures.testImages(manager, 64);
            assertArrayEquals(expected, Evaluation.predict(frozen.getBlock(), x, manager).head().toFloatArray(), 0f);
        }
    }
}
