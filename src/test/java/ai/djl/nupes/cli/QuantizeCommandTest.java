package ai.djl.nupes.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.bench.AccuracyBook;
import ai.djl.nupes.bench.AccuracyRow;
import ai.djl.nupes.export.FrozenBlockFactory;
import ai.djl.nupes.models.TestModel;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.inference.Predictor;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code quantize --model-path}: a model directory that is not a bundled id (the CNN copied under
 * another name), calibrated on image folders the test writes from the bundled Fashion-MNIST test
 * subset; the frozen export reloads and scores within a margin of the float model.
 */
class QuantizeCommandTest {

    @TempDir static Path tmp;

    static Path modelDir;
    static Path labelled;
    static Path flat;

    @BeforeAll
    static void writeInputs() throws Exception {
        modelDir = CliFixtures.copyModel(TestModel.CNN, tmp, "my-classifier");
        labelled = CliFixtures.writeImageFolder(tmp.resolve("images"), 6, true);
        flat = CliFixtures.writeImageFolder(tmp.resolve("flat"), 4, false);
    }

    @Test
    void quantizesACopiedModelFromALabelledImageFolder() throws Exception {
        Path out = tmp.resolve("frozen-powerquant");
        CliFixtures.Run run = CliFixtures.run("quantize", "--model-path", modelDir.toString(), "--calibration",
                labelled.toString(), "--method", "powerquant-layer", "--bits", "4", "--seed", "1",
                "--out", out.toString());
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("60 images (1, 28, 28), labelled"), run.out());
        assertTrue(run.out().contains("| 08Linear | 4 |"), "the report table: " + run.out());
        assertTrue(run.out().contains("accuracy on 60 labelled images: float 91.67 %"), run.out());
        String line = run.out().lines().filter(l -> l.startsWith("accuracy on")).findFirst().orElseThrow();
        double frozen = Double.parseDouble(line.replaceAll(".*frozen ([0-9.]+) %.*", "$1"));
        // measured: float 91.67 %, quantized and frozen 93.33 % (56/60); W4 PowerQuant stays within a few images
        assertTrue(frozen >= 85 && frozen <= 100, line);

        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
        assertTrue(Files.readString(out.resolve("serving.properties")).contains(FrozenBlockFactory.class.getName()));
        try (ZooModel<NDList, NDList> model = Criteria.builder().setTypes(NDList.class, NDList.class)
                        .optModelPath(out).build().loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = NDManager.newBaseManager()) {
            NDArray logits = predictor.predict(new NDList(manager.zeros(new Shape(3, 1, 28, 28)))).head();
            assertEquals(new Shape(3, 10), logits.getShape());
        }
        assertTrue(Files.size(out.resolve("frozen-powerquant-0000.params"))
                < Files.size(modelDir.resolve("my-classifier-0000.params")) / 5);
    }

    @Test
    void returnsTheMeasuredAccuracyAndAgreement() {
        Path out = tmp.resolve("frozen-uniform");
        picocli.CommandLine cl = NupesCli.commandLine(new java.io.PrintWriter(new java.io.StringWriter()),
                new java.io.PrintWriter(new java.io.StringWriter()));
        int code = cl.execute("quantize", "--model-path", modelDir.toString(), "--calibration", labelled.toString(),
                "--method", "uniform", "--bits", "4", "--out", out.toString());
        assertEquals(0, code);
        QuantizeCommand.Result r = ((QuantizeCommand) cl.getSubcommands().get("quantize").getCommand()).result();
        assertNotNull(r);
        assertEquals(60, r.evalImages());
        assertTrue(r.labelled());
        assertEquals(55 / 60.0, r.floatAccuracy(), 1e-9, "float CNN on the 60 written images");
        assertTrue(Math.abs(r.frozenAccuracy() - r.floatAccuracy()) <= 4 / 60.0 + 1e-9, r.toString());
        assertEquals(r.quantizedAccuracy(), r.frozenAccuracy(), 1e-9, "frozen = in memory");
        assertTrue(r.frozenAgreement() >= 0.9, r.toString());
        assertTrue(r.frozenBytes() > 0 && r.frozenBytes() < r.floatBytes());
    }

    @Test
    void anUnlabelledFolderGetsATopOneAgreementCheck() {
        Path out = tmp.resolve("frozen-nupes");
        CliFixtures.Run run = CliFixtures.run("--model-path", modelDir.toString(), "--calibration", flat.toString(),
                "--method", "nupes", "--bits", "4", "--iterations", "20", "--samples", "32", "--seed", "3",
                "--input-shape", "1,28,28", "--out", out.toString());
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("40 images (1, 28, 28), unlabelled"), run.out());
        assertTrue(run.out().contains("32 calibration samples, 20 steps per layer"), run.out());
        assertTrue(!run.out().contains("accuracy on"), run.out());
        String line = run.out().lines().filter(l -> l.startsWith("top-1 agreement")).findFirst().orElseThrow();
        double frozen = Double.parseDouble(line.replaceAll(".*frozen ([0-9.]+) %.*", "$1"));
        assertTrue(frozen >= 90 && frozen <= 100, line);
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
    }

    @Test
    void aBundledIdAndTheBundledSubsetByName() {
        Path out = tmp.resolve("frozen-mlp");
        CliFixtures.Run run = CliFixtures.run("quantize", "--model-path", "mlp", "--calibration", "bundled",
                "--method", "uniform", "--bits", "8", "--out", out.toString());
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("2000 images (1, 28, 28), labelled, from the bundled Fashion-MNIST subset"),
                run.out());
        assertTrue(run.out().contains("accuracy on 2000 labelled images"), run.out());
    }

    @Test
    void withoutAModelPathTheBundledModelTableAsBefore() throws Exception {
        Path out = tmp.resolve("frozen-bundled-mlp");
        CliFixtures.Run run = CliFixtures.run("--model", "mlp", "--bits", "8,4", "--methods", "uniform",
                "--export", out.toString());
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("evaluated on the bundled 2000-image Fashion-MNIST test subset"), run.out());
        assertTrue(run.out().contains("| mlp |"), run.out());
        assertTrue(run.out().contains("frozen uniform W4 exported to " + out + " and reloaded through Criteria"), run.out());
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
    }

    @Test
    void theMainJobShowsTheLanguageModelRowsABenchLeft() throws Exception {
        Path file = tmp.resolve("accuracy.json");
        assertTrue(QuantizeCommand.languageModelRows(file).startsWith("lm perplexity: no rows in"));
        AccuracyBook.merge(file, List.of(
                new AccuracyRow("cnn", "uniform", 4, 32, 0.9, 0.91, 2000, 0.1),
                new AccuracyRow("lm", "nupes", 3, 32, 0.61, 0.62, 32768, 50.0, 128, 3.6523,
                        3.5116, 0.0482, 0.89, 3.307, 64, 32, 776_000L, null, null, null)));
        String table = QuantizeCommand.languageModelRows(file);
        assertTrue(table.contains("| lm | nupes | 3 | g128 | 32 | 3.6523 | 3.5116 | 4.01 |"), table);
        assertTrue(table.contains("| 757.8 |"), "file KB: " + table);
        assertFalse(table.contains("| cnn |"), table);
    }
}
