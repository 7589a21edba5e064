package ai.djl.nupes.cli;

import ai.djl.MalformedModelException;
import ai.djl.ModelException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.bench.embedding.EmbeddingMetrics;
import ai.djl.nupes.bench.embedding.MiniLmArtifacts;
import ai.djl.nupes.bench.embedding.SentenceBatches;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.imports.BertBlockFactory;
import ai.djl.nupes.imports.BertImporter;
import ai.djl.nupes.text.TextSlices;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * {@code quantize --model-path} for a BERT-family sentence encoder: an {@code .onnx} file, a
 * directory holding one, a jar holding one (the Maven artifact of all-MiniLM-L6-v2, or {@code
 * all-minilm-l6-v2} for the one on the classpath), or a model directory {@link BertImporter} wrote.
 * The encoder is imported with {@link BertImporter}, calibrated on sentences (a text file, one a
 * line, tokenized and padded by {@link SentenceBatches}, padded tokens masked out), exported frozen
 * with its {@code tokenizer.json}, reloaded through {@link BertImporter#embeddingCriteria} and
 * compared with the float model on evaluation sentences: the cosine of each sentence vector (DJL's
 * mean-pooled, normalized {@code String → float[]}) to the float model's.
 */
final class TextEncoderQuantize {

    /** How many bundled evaluation verses are embedded when {@code --eval} names none. */
    static final int DEFAULT_EVAL_SENTENCES = 128;

    private TextEncoderQuantize() {}

    /** Cosines to the float model's sentence vectors. */
    record Fidelity(double mean, double p5, double min) {
        static Fidelity of(float[][] reference, float[][] other) {
            double[] c = EmbeddingMetrics.cosines(reference, other);
            double min = Double.POSITIVE_INFINITY;
            for (double v : c) {
                min = Math.min(min, v);
            }
            return new Fidelity(EmbeddingMetrics.mean(c), EmbeddingMetrics.percentile(c, 0.05), min);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.4f / %.4f / %.4f", mean, p5, min);
        }
    }

    /** What a text-encoder run measured. */
    record Result(Method method, int bits, int groupSize, Path frozen, long frozenBytes, long floatBytes,
            int sentences, Fidelity quantized, Fidelity frozenFidelity) {}

    /**
     * Whether {@code --model-path} names a sentence encoder rather than a DJL model directory, and
     * which source to import.
     *
     * @param path the option's value
     * @return the source, or null for an ordinary model directory
     * @throws IOException when a directory cannot be listed
     */
    static Path encoderSource(Path path) throws IOException {
        if (!Files.exists(path)) {
            return path.toString().equalsIgnoreCase(MiniLmArtifacts.MODEL)
                    ? MiniLmArtifacts.jarOf(MiniLmArtifacts.FLOAT_ONNX) : null;
        }
        if (Files.isRegularFile(path)) {
            String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
            return name.endsWith(".onnx") || name.endsWith(".jar") || name.endsWith(".zip") ? path : null;
        }
        Path serving = path.resolve("serving.properties");
        if (Files.isRegularFile(serving)) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(serving)) {
                p.load(r);
            }
            return BertBlockFactory.class.getName().equals(p.getProperty("blockFactory", "").trim()) ? path : null;
        }
        boolean onnx;
        try (Stream<Path> s = Files.list(path)) {
            onnx = s.anyMatch(f -> f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx"));
        }
        if (!onnx && Files.isRegularFile(path.resolve("config.json"))
                && Files.isRegularFile(path.resolve("model.safetensors"))) {
            throw new NupesCli.BadInput("--model-path: " + path.toAbsolutePath() + " is a Hugging Face checkpoint"
                    + " (config.json, model.safetensors); the importer reads BERT-family ONNX exports: give the"
                    + " model's .onnx file (for example from optimum-cli export onnx) or a jar holding one");
        }
        return onnx ? path : null;
    }

    /**
     * Runs the command for a sentence encoder.
     *
     * @param cmd the parsed command
     * @param source from {@link #encoderSource}
     * @param method the method
     * @param bits the weight bits
     * @param w where the results go
     * @return the result
     * @throws Exception on failure
     */
    static Result run(QuantizeCommand cmd, Path source, Method method, int bits, PrintWriter w) throws Exception {
        SharedOptions shared = cmd.shared;
        List<String> calibration = sentences(shared.calibration, "--calibration", TextSlices::kjvCalibration,
                Integer.MAX_VALUE);
        List<String> eval = sentences(cmd.eval, "--eval", TextSlices::kjvEvaluation, DEFAULT_EVAL_SENTENCES);
        Path work = Files.createTempDirectory("nupes-cli-encoder");
        try {
            Path floatDir = floatDirectory(source, work);
            String stem = floatDir == source ? source.getFileName().toString() : stem(source);
            Path outDir = cmd.out != null ? cmd.out : Paths.get("target", "frozen", stem + "-" + method.id() + "-w" + bits
                    + (cmd.groupSize > 0 ? "-g" + cmd.groupSize : ""));
            QuantizeCommand.checkOut(outDir, source);
            Path tokenizerFile = floatDir.resolve(BertImporter.TOKENIZER_FILE);
            if (!Files.isRegularFile(tokenizerFile)) {
                throw new NupesCli.BadInput("--model-path: " + floatDir.toAbsolutePath() + " has no "
                        + BertImporter.TOKENIZER_FILE);
            }
            w.println("model: " + source + " (BERT-family encoder, imported by BertImporter)");
            boolean needsData = method.needsCalibrationData() || shared.abits < 32;
            w.println("calibration: " + (needsData
                    ? describe(calibration, shared.calibration, "the bundled KJV calibration verses")
                    : "none (" + method.id() + " is data-free)"));
            w.println("evaluation: " + describe(eval, cmd.eval,
                    "the first " + DEFAULT_EVAL_SENTENCES + " bundled KJV evaluation verses"));
            w.flush();
            try (ZooModel<String, float[]> model = load(floatDir, "--model-path")) {
                float[][] floatVectors = embed(model, eval);
                NupesConfig.Builder config = shared.base(method, bits).optGroupSize(cmd.groupSize)
                        .optEmbeddingBits(cmd.embeddingBits);
                QuantizedModel q;
                SentenceBatches.PadToken pad = SentenceBatches.padToken(tokenizerFile);
                try (HuggingFaceTokenizer tokenizer = SentenceBatches.tokenizer(tokenizerFile);
                        NDManager calibrationManager = model.getNDManager().newSubManager()) {
                    int samples = shared.samplesOf(calibration.size());
                    if (needsData) {
                        SentenceBatches batches = SentenceBatches.of(tokenizer, pad, calibration.subList(0, samples),
                                NupesConfig.DEFAULT_BATCH_SIZE, false, SentenceBatches.Padding.LONGEST_IN_SET);
                        // input 1 is the attention mask: padded tokens enter no loss and no input range
                        config.optCalibrationData(batches.inputs(calibrationManager)).optPaddingMask(1)
                                .optCalibrationSamples(samples);
                    }
                    w.println("quantizing with " + method.id() + " W" + bits
                            + (shared.abits < 32 ? "A" + shared.abits : "")
                            + (cmd.groupSize > 0 ? " g" + cmd.groupSize : "")
                            + (cmd.embeddingBits < 32 ? ", tables at " + cmd.embeddingBits + " bits" : "")
                            + ", seed " + shared.seed
                            + (method.needsCalibrationData()
                                    ? ", " + samples + " calibration sentences, " + shared.iterations + " steps per layer"
                                    : " (data-free)"));
                    w.flush();
                    q = Nupes.quantize(model, config.build());
                }
                w.println();
                w.println(q.getReport().toMarkdown());
                w.printf(Locale.ROOT, "quantized %d layers in %.1f s, %.3f bits per weight%n",
                        q.getReport().layers().size(), q.getReport().seconds(), q.getReport().bitsPerWeight());
                w.flush();
                Fidelity inMemory = Fidelity.of(floatVectors, embed(model, eval));
                Manifest manifest = FrozenExporter.export(q, outDir,
                        ExportOptions.builder().optOverwrite(true).optFile(tokenizerFile).build());
                long frozenBytes = Files.size(outDir.resolve(manifest.paramsFile()));
                long floatBytes = paramsBytes(floatDir);
                Fidelity frozen;
                try (ZooModel<String, float[]> reloaded = load(outDir, "--out")) {
                    frozen = Fidelity.of(floatVectors, embed(reloaded, eval));
                }
                w.printf(Locale.ROOT, "frozen %s W%d%s exported to %s with %s and reloaded through"
                                + " BertImporter.embeddingCriteria: %d bytes (float %d, %.1fx smaller)%n",
                        method.id(), bits, cmd.groupSize > 0 ? " g" + cmd.groupSize : "", outDir,
                        BertImporter.TOKENIZER_FILE, frozenBytes, floatBytes, floatBytes / (double) frozenBytes);
                w.printf(Locale.ROOT, "cosine to the float model's sentence vectors on %d sentences (mean / 5th"
                        + " percentile / min): quantized in memory %s, frozen %s%n", eval.size(), inMemory, frozen);
                w.flush();
                return new Result(method, bits, cmd.groupSize, outDir, frozenBytes, floatBytes, eval.size(), inMemory,
                        frozen);
            }
        } finally {
            deleteTree(work);
        }
    }

    /** The float model directory: the source itself when BertImporter wrote it, else a fresh import. */
    private static Path floatDirectory(Path source, Path work) throws IOException {
        if (Files.isDirectory(source) && Files.isRegularFile(source.resolve("serving.properties"))) {
            return source;
        }
        try {
            return BertImporter.writeModelDirectory(source, work.resolve("float"), "encoder");
        } catch (MalformedModelException | IOException e) {
            throw new NupesCli.BadInput("--model-path: cannot import " + source.toAbsolutePath() + " as a BERT-family"
                    + " encoder: " + e.getMessage());
        }
    }

    private static ZooModel<String, float[]> load(Path dir, String option) {
        try {
            return BertImporter.embeddingCriteria(dir).loadModel();
        } catch (IOException | ModelException | RuntimeException e) {
            throw new NupesCli.BadInput(option + ": cannot load the sentence encoder in " + dir.toAbsolutePath() + ": "
                    + e.getMessage());
        }
    }

    /** Sentence vectors through the model's {@code String → float[]} translator, 32 at a time. */
    private static float[][] embed(ZooModel<String, float[]> model, List<String> sentences) throws TranslateException {
        float[][] out = new float[sentences.size()][];
        try (Predictor<String, float[]> p = model.newPredictor()) {
            for (int from = 0; from < sentences.size(); from += NupesConfig.DEFAULT_BATCH_SIZE) {
                List<float[]> part = p.batchPredict(
                        sentences.subList(from, Math.min(sentences.size(), from + NupesConfig.DEFAULT_BATCH_SIZE)));
                for (int i = 0; i < part.size(); i++) {
                    out[from + i] = part.get(i);
                }
            }
        }
        return out;
    }

    /** The non-blank lines of a text file, or the bundled slice when no file (or 'bundled') is named. */
    private static List<String> sentences(String source, String option, java.util.function.Supplier<List<String>> bundled,
            int bundledCount) throws IOException {
        if (ImageData.isBundled(source)) {
            List<String> all = bundled.get();
            return List.copyOf(all.subList(0, Math.min(bundledCount, all.size())));
        }
        Path file = Paths.get(source);
        if (!Files.isRegularFile(file)) {
            throw new NupesCli.BadInput(option + ": " + file.toAbsolutePath() + (Files.isDirectory(file)
                    ? " is a directory; a sentence encoder takes a text file, one sentence a line"
                    : " does not exist; expected a text file, one sentence a line, or 'bundled'"));
        }
        List<String> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(line.strip());
                }
            }
        } catch (MalformedInputException e) {
            throw new NupesCli.BadInput(option + ": " + file.toAbsolutePath() + " is not UTF-8 text");
        }
        if (out.isEmpty()) {
            throw new NupesCli.BadInput(option + ": " + file.toAbsolutePath() + " holds no sentences (no non-blank line)");
        }
        return out;
    }

    private static String describe(List<String> sentences, String source, String bundled) {
        return sentences.size() + " sentences from " + (ImageData.isBundled(source) ? bundled : source);
    }

    private static String stem(Path source) {
        String name = source.getFileName().toString();
        if (name.toLowerCase(Locale.ROOT).endsWith(".jar")) {
            return name.replaceAll("(-\\d[\\w.-]*)?\\.jar$", "");
        }
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    private static long paramsBytes(Path dir) throws IOException {
        long bytes = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                if (f.getFileName().toString().endsWith(".params")) {
                    bytes += Files.size(f);
                }
            }
        }
        return bytes;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
