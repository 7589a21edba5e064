package ai.djl.nupes.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.nupes.bench.embedding.MiniLmArtifacts;
import ai.djl.nupes.imports.BertImporter;
import ai.djl.nupes.text.TextSlices;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code quantize --model-path} on a sentence encoder: the all-MiniLM-L6-v2 Maven jar, imported,
 * quantized, exported with its tokenizer and reloaded as {@code String → float[]}; text inputs that
 * cannot be used are refused naming the file.
 */
class TextEncoderQuantizeTest {

    @TempDir Path tmp;

    @Test
    void quantizesTheMiniLmJarOnSentencesFromATextFile() throws Exception {
        Path eval = Files.write(tmp.resolve("eval.txt"), TextSlices.kjvEvaluation().subList(0, 16));
        Path out = tmp.resolve("minilm-w4-g128");
        Path jar = MiniLmArtifacts.jarOf(MiniLmArtifacts.FLOAT_ONNX);
        StringWriter sw = new StringWriter();
        picocli.CommandLine cl = NupesCli.commandLine(new PrintWriter(sw, true), new PrintWriter(new StringWriter(), true));
        int code = cl.execute("quantize", "--model-path", jar.toString(), "--method", "uniform", "--bits", "4",
                "--group-size", "128", "--eval", eval.toString(), "--out", out.toString());
        assertEquals(0, code, sw.toString());
        TextEncoderQuantize.Result r =
                ((QuantizeCommand) cl.getSubcommands().get("quantize").getCommand()).textResult();
        assertNotNull(r, sw.toString());
        assertEquals(16, r.sentences());
        // measured: 0.9316 mean on the first 24 verses (uniform W4 g128, tables float)
        assertTrue(r.frozenFidelity().mean() > 0.85 && r.frozenFidelity().mean() < 0.99, sw.toString());
        assertTrue(r.frozenFidelity().min() > 0.8, sw.toString());
        assertEquals(r.quantized().mean(), r.frozenFidelity().mean(), 1e-5, "frozen = in memory");
        assertTrue(sw.toString().contains("layer0/01query | 4 | 4.250 |"), sw.toString());
        assertTrue(Files.isRegularFile(out.resolve(BertImporter.TOKENIZER_FILE)));
        assertTrue(sw.toString().contains("calibration: none (uniform is data-free)"), sw.toString());
        assertTrue(r.frozenBytes() < r.floatBytes());
        try (ZooModel<String, float[]> model = BertImporter.embeddingCriteria(out).loadModel();
                Predictor<String, float[]> p = model.newPredictor()) {
            assertEquals(384, p.predict("In the beginning was the Word").length);
        }
    }

    @Test
    void textInputsThatCannotBeUsedAreNamed() throws Exception {
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "\n  \n");
        CliFixtures.Run run = CliFixtures.run("quantize", "--model-path", MiniLmArtifacts.MODEL, "--method", "uniform",
                "--calibration", empty.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains(empty.toAbsolutePath() + " holds no sentences"), run.err());

        run = CliFixtures.run("quantize", "--model-path", MiniLmArtifacts.MODEL, "--eval", tmp.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains(tmp.toAbsolutePath() + " is a directory"), run.err());

        Path hf = Files.createDirectories(tmp.resolve("hf"));
        Files.writeString(hf.resolve("config.json"), "{}");
        Files.writeString(hf.resolve("model.safetensors"), "");
        run = CliFixtures.run("quantize", "--model-path", hf.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains("is a Hugging Face checkpoint (config.json, model.safetensors)"), run.err());

        Path junk = Files.writeString(tmp.resolve("model.onnx"), "not a protobuf");
        run = CliFixtures.run("quantize", "--model-path", junk.toString(), "--method", "uniform");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains("cannot import " + junk.toAbsolutePath()), run.err());

        run = CliFixtures.run("quantize", "--model-path", MiniLmArtifacts.MODEL, "--input-shape", "1,28,28");
        assertEquals(2, run.code(), run.toString());
        assertTrue(run.err().contains("--input-shape applies to image models"), run.err());
    }
}
