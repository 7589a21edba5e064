package ai.djl.nupes.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nupes.models.TestModel;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The command line refuses what it cannot use before any model is quantized: misspelled options and
 * bad values with the message and the usage (exit 2), bad input files with a message naming the
 * file (exit 1); {@code --help} works on every command.
 */
class CommandLineTest {

    @TempDir static Path tmp;

    static Path modelDir;
    static Path images;

    @BeforeAll
    static void writeInputs() throws Exception {
        modelDir = CliFixtures.copyModel(TestModel.CNN, tmp, "renamed-cnn");
        images = CliFixtures.writeImageFolder(tmp.resolve("images"), 2, true);
    }

    private static void assertUsageError(CliFixtures.Run run, String... fragments) {
        assertEquals(2, run.code(), run.toString());
        for (String f : fragments) {
            assertTrue(run.err().contains(f), "expected '" + f + "' in\n" + run.err());
        }
        assertTrue(run.err().contains("Usage: djl-nupes"), "usage help in\n" + run.err());
        assertEquals("", run.out());
    }

    private static void assertBadInput(CliFixtures.Run run, String... fragments) {
        assertEquals(1, run.code(), run.toString());
        for (String f : fragments) {
            assertTrue(run.err().contains(f), "expected '" + f + "' in\n" + run.err());
        }
        assertTrue(run.err().startsWith("error: "), run.err());
        assertTrue(!run.err().contains("\tat "), "no stack trace for bad input:\n" + run.err());
    }

    @Test
    void aMisspelledOptionIsRefusedWithASuggestionAndTheUsage() {
        assertUsageError(CliFixtures.run("quantize", "--bitz", "4"), "Unknown option", "--bitz", "--bits");
        assertUsageError(CliFixtures.run("--calibraton", "x"), "Unknown option", "--calibration");
        assertUsageError(CliFixtures.run("bench", "--model", "cnn"), "Unknown option", "--models");
        assertUsageError(CliFixtures.run("quantise"), "Unmatched argument", "Did you mean: djl-nupes quantize");
    }

    @Test
    void badValuesAreRefusedSayingWhatWasExpected() {
        assertUsageError(CliFixtures.run("quantize", "--bits", "four"), "--bits", "'four' is not a whole number");
        assertUsageError(CliFixtures.run("quantize", "--bits", "9"), "--bits", "'9' is outside 2..8 bits");
        assertUsageError(CliFixtures.run("quantize", "--bits", "4,1"), "'1' is outside 2..8 bits");
        assertUsageError(CliFixtures.run("quantize", "--methods", "uniform,nupez"), "unknown method 'nupez'");
        assertUsageError(CliFixtures.run("quantize", "--abits", "16"), "'16' is neither 2..8 bits nor 32");
        assertUsageError(CliFixtures.run("quantize", "--model", "vgg"), "unknown test model 'vgg'");
        assertUsageError(CliFixtures.run("quantize", "--grid", "odd"), "unknown grid 'odd'");
        assertUsageError(CliFixtures.run("quantize", "--input-shape", "1,x,28"), "is not a shape");
        assertUsageError(CliFixtures.run("quantize", "--samples", "0"), "'0' is not a positive whole number");
        assertUsageError(CliFixtures.run("bench", "--latent-start", "gptq"), "'gptq' is neither float-weights nor gptq-power");
        assertUsageError(CliFixtures.run("bench", "--reconstruction", "block"), "'block' is neither layer nor stage");
        assertUsageError(CliFixtures.run("bench", "--final-rounding", "gptq"),
                "'gptq' is neither learned nor best-of-learned-and-gptq");
        assertUsageError(CliFixtures.run("bench-lm", "--reconstruction", "block"), "'block' is neither layer nor stage");
        assertUsageError(CliFixtures.run("quantize", "--gptq-target", "outputs"),
                "'outputs' is neither weights nor float-outputs");
        assertUsageError(CliFixtures.run("bench-lm", "--gptq-target", "outputs"),
                "'outputs' is neither weights nor float-outputs");
        assertUsageError(CliFixtures.run("quantize", "--seed"), "Missing required parameter", "--seed");
        assertUsageError(CliFixtures.run("bench-integer", "--presets", "W2A2"), "unknown preset 'W2A2'");
        assertUsageError(CliFixtures.run("train", "lenet"), "unknown test model 'lenet'");
        assertUsageError(CliFixtures.run("quantize", "--model", "lm"), "is the language model", "bench-lm");
        assertUsageError(CliFixtures.run("bench-lm", "--group-sizes", "-1"), "--group-sizes: -1 is negative");
        assertUsageError(CliFixtures.run("bench-lm", "--embedding-bits", "9"), "--embedding-bits: 9 is neither 2..8 nor 32");
        assertUsageError(CliFixtures.run("quantize", "--model", "cnn", "--model-path", modelDir.toString()),
                "not both");
        assertUsageError(CliFixtures.run("quantize", "--model-path", modelDir.toString(), "--bits", "4,3"),
                "--bits takes one value");
    }

    @Test
    void benchEmbeddingRefusesItsUnknownOptions() {
        assertUsageError(CliFixtures.run("bench-embedding", "--bitz", "4"), "bench-embedding: unknown option '--bitz'");
        assertUsageError(CliFixtures.run("bench-embedding", "--bits", "x"), "--bits expects whole numbers");
        assertUsageError(CliFixtures.run("bench-embedding", "--latent-start", "gptq"),
                "--latent-start expects float-weights or gptq-power, got 'gptq'");
        assertUsageError(CliFixtures.run("bench-embedding", "--reconstruction", "block"),
                "--reconstruction expects layer or stage, got 'block'");
        assertUsageError(CliFixtures.run("bench-embedding", "--gptq-target", "outputs"),
                "--gptq-target expects weights or float-outputs, got 'outputs'");
    }

    @Test
    void helpOnEveryCommand() {
        for (String command : new String[] {"quantize", "bench", "bench-lm", "bench-export", "bench-integer",
            "bench-embedding", "zoo", "train", "bundle-data"}) {
            CliFixtures.Run run = CliFixtures.run(command, "--help");
            assertEquals(0, run.code(), run.toString());
            assertTrue(run.out().startsWith("Usage: djl-nupes " + command), run.out());
        }
        CliFixtures.Run top = CliFixtures.run("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().contains("bench-embedding") && top.out().contains("bundle-data"), top.out());
        assertTrue(CliFixtures.run("bench-embedding", "--help").out().contains("--calibration-sentences"));
        assertTrue(CliFixtures.run("help", "quantize").out().contains("--model-path"));
    }

    @Test
    void aMissingModelDirectoryOrServingPropertiesIsNamed() throws Exception {
        Path missing = tmp.resolve("no-such-model");
        assertBadInput(CliFixtures.run("--model-path", missing.toString(), "--calibration", images.toString()),
                missing.toAbsolutePath() + " does not exist");
        Path bare = Files.createDirectories(tmp.resolve("bare"));
        Files.copy(modelDir.resolve("renamed-cnn-0000.params"), bare.resolve("bare-0000.params"));
        assertBadInput(CliFixtures.run("--model-path", bare.toString(), "--calibration", images.toString()),
                bare.resolve("serving.properties").toAbsolutePath() + " not found");
        Path noFactory = Files.createDirectories(tmp.resolve("no-factory"));
        Files.writeString(noFactory.resolve("serving.properties"), "engine=PyTorch\n");
        assertBadInput(CliFixtures.run("--model-path", noFactory.toString()), "names no blockFactory");
        Path wrongName = Files.createDirectories(tmp.resolve("wrong-name"));
        Files.copy(modelDir.resolve("renamed-cnn-0000.params"), wrongName.resolve("weights-0000.params"));
        Files.copy(modelDir.resolve("serving.properties"), wrongName.resolve("serving.properties"));
        assertBadInput(CliFixtures.run("--model-path", wrongName.toString(), "--method", "uniform"),
                "option.modelName=renamed-cnn", "holds no renamed-cnn-NNNN.params", "[weights]");
    }

    @Test
    void badCalibrationImagesAreNamed() throws Exception {
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration",
                tmp.resolve("nothing-here").toString()), tmp.resolve("nothing-here").toAbsolutePath() + " does not exist");

        Path empty = Files.createDirectories(tmp.resolve("empty/0"));
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration",
                empty.getParent().toString()), "holds no images", "in its class subfolders 0");

        Path small = copyFolder(images, tmp.resolve("small"));
        Path odd = CliFixtures.writePng(small.resolve("3/odd.png"), 20, 20, BufferedImage.TYPE_BYTE_GRAY);
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration", small.toString()),
                odd.toAbsolutePath() + " is 20x20 with 1 channel, but the model takes 28x28 with 1 channel");

        Path colour = copyFolder(images, tmp.resolve("colour"));
        Path rgb = CliFixtures.writePng(colour.resolve("5/rgb.png"), 28, 28, BufferedImage.TYPE_INT_RGB);
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration", colour.toString(),
                "--input-shape", "1,28,28"), rgb.toAbsolutePath() + " is 28x28 with 3 channels", "--input-shape 1,28,28");

        Path broken = copyFolder(images, tmp.resolve("broken"));
        Files.writeString(broken.resolve("1/broken.png"), "not a png");
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration", broken.toString()),
                broken.resolve("1/broken.png").toAbsolutePath() + " is not a readable image");

        Path notIdx = Files.writeString(tmp.resolve("notes.txt"), "hello");
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration", notIdx.toString()),
                notIdx.toAbsolutePath() + " is not an IDX image file");
    }

    @Test
    void imagesTheModelDoesNotTakeAreRefusedBeforeQuantizing() throws Exception {
        Path big = Files.createDirectories(tmp.resolve("big/0"));
        CliFixtures.writePng(big.resolve("a.png"), 32, 32, BufferedImage.TYPE_BYTE_GRAY);
        CliFixtures.writePng(big.resolve("b.png"), 32, 32, BufferedImage.TYPE_BYTE_GRAY);
        CliFixtures.Run run = CliFixtures.run("--model-path", modelDir.toString(), "--calibration",
                big.getParent().toString(), "--method", "uniform");
        assertBadInput(run, "does not take 2 images (1, 32, 32)", "give images of the size the model takes");
        assertTrue(!run.out().contains("quantizing"), run.out());
    }

    @Test
    void anExistingDirectoryThatIsNotAFrozenModelIsNotReplaced() throws Exception {
        Path precious = Files.createDirectories(tmp.resolve("precious"));
        Files.writeString(precious.resolve("notes.txt"), "keep me");
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration", images.toString(),
                "--method", "uniform", "--out", precious.toString()), "is not a frozen model (no manifest.json)");
        assertEquals("keep me", Files.readString(precious.resolve("notes.txt")));
        assertBadInput(CliFixtures.run("--model-path", modelDir.toString(), "--calibration", images.toString(),
                "--method", "uniform", "--out", modelDir.toString()), "is the model directory itself");
    }

    private static Path copyFolder(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return to;
    }
}
