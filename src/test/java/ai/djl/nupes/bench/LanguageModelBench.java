package ai.djl.nupes.bench;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.calibrate.FinalRounding;
import ai.djl.nupes.calibrate.GptqTarget;
import ai.djl.nupes.calibrate.ReconstructionUnit;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.models.LanguageModelEvaluation;
import ai.djl.nupes.models.LanguageModelSlices;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.ZooModel;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Perplexity bench of the {@code lm}: float predictions on the shipped evaluation slice once, then
 * any (method, bits, group size): quantize the float model, score the slice (perplexity, KL from
 * the float next-character distributions, top-1 agreement), export it frozen for its bits per
 * weight, and restore the float model.
 */
public final class LanguageModelBench implements AutoCloseable {

    private static final Logger logger = LogManager.getLogger(LanguageModelBench.class);

    private final Path directory;
    private final ZooModel<NDList, NDList> model;
    private final NDManager manager;
    private final int[] evaluation;
    private final LanguageModelEvaluation.Predictions reference;

    /**
     * Calibration and optimisation settings of the data-driven methods.
     *
     * @param windows calibration sequences of {@link TestModel#LM_CONTEXT} characters
     * @param batchSize sequences per Adam step
     * @param iterations Adam steps per layer (NUPES, learned rounding)
     * @param seed the library seed
     * @param unit what one reconstruction of the learned methods learns
     * @param rounding which codes a NUPES layer ends with, or null for the library's default
     * @param target what every GPTQ rounding fits, or null for the library's default
     */
    public record Calibration(int windows, int batchSize, int iterations, long seed, ReconstructionUnit unit,
            FinalRounding rounding, GptqTarget target) {}

    /**
     * Loads the model directory and scores the float model.
     *
     * @param directory the {@code lm} directory ({@code test-models/lm})
     * @throws IOException when the model or its slices are missing
     */
    public LanguageModelBench(Path directory) throws IOException {
        this.directory = directory;
        this.model = TestModels.load(directory);
        this.manager = model.getNDManager().newSubManager();
        this.evaluation = LanguageModelSlices.evaluation(directory);
        long start = System.nanoTime();
        this.reference = predict();
        logger.info("lm: float perplexity {} on {} characters ({} s)",
                String.format("%.4f", reference.perplexity()), reference.positions(),
                String.format("%.1f", (System.nanoTime() - start) / 1e9));
    }

    /**
     * The float row.
     *
     * @return the row
     */
    public AccuracyRow floatRow() {
        double ppl = reference.perplexity();
        return new AccuracyRow("lm", "float", 32, 32, reference.accuracy(), reference.accuracy(),
                reference.positions(), 0, null, ppl, ppl, 0.0, 1.0, 32.0, 0, 32, floatParameterBytes(), null, null, null);
    }

    private Long floatParameterBytes() {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(directory)) {
            List<Path> params = files.filter(f -> f.getFileName().toString().endsWith(".params")).toList();
            return params.size() == 1 ? java.nio.file.Files.size(params.get(0)) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Quantizes, scores, exports frozen and restores.
     *
     * @param method the method
     * @param bits weight bits
     * @param groupSize inputs per scale group, 0 for per channel
     * @param embeddingBits bits of the token table (per row or per group like the Linear layers, data
     *     free), 32 to keep it float
     * @param calibration the data-driven methods' settings
     * @param frozenDirectory where the frozen export goes (replaced)
     * @return the row
     */
    public AccuracyRow run(Method method, int bits, int groupSize, int embeddingBits, Calibration calibration,
            Path frozenDirectory) {
        NupesConfig.Builder b = NupesConfig.builder().optMethod(method).setBits(bits).optSeed(calibration.seed());
        if (groupSize > 0) {
            b.optGroupSize(groupSize);
        }
        if (embeddingBits < 32) {
            b.optEmbeddingBits(embeddingBits);
        }
        int samples = 0;
        if (method.needsCalibrationData()) {
            List<NDList> batches;
            try {
                batches = LanguageModelSlices.calibration(directory, manager, calibration.windows(), 16);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            samples = calibration.windows();
            b.optCalibrationData(batches)
                    .optCalibrationSamples(samples)
                    .optBatchSize(calibration.batchSize())
                    .optIterations(calibration.iterations());
            if (calibration.unit().appliesTo(method)) {
                b.optReconstructionUnit(calibration.unit());
            }
            if (calibration.rounding() != null) {
                b.optFinalRounding(calibration.rounding());
            }
            if (calibration.target() != null) {
                b.optGptqTarget(calibration.target());
            }
        }
        NupesConfig config = b.build();
        QuantizedModel q = Nupes.quantize(model, config);
        try {
            LanguageModelEvaluation.Predictions p = predict();
            Manifest manifest;
            try {
                manifest = FrozenExporter.export(q, frozenDirectory, ExportOptions.builder().optOverwrite(true).build());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            AccuracyRow row = new AccuracyRow("lm", ModelBench.label(method, config.getCalibrationSettings()), bits, 32, p.accuracy(), reference.accuracy(),
                    p.positions(), q.getReport().seconds(), groupSize, p.perplexity(), reference.perplexity(),
                    p.klFrom(reference), p.top1Agreement(reference), bitsPerWeight(manifest), samples, embeddingBits,
                    fileBytes(frozenDirectory, manifest), null, null, null);
            writeLayerReports(q, frozenDirectory, method, bits, groupSize, embeddingBits);
            logger.info("lm {} W{} {} table {}: perplexity {} (float {}), KL {}, top-1 agreement {}, {} bits/weight, {} s",
                    method.id(), bits, groupSize == 0 ? "per channel" : "g" + groupSize,
                    embeddingBits == 32 ? "float" : "W" + embeddingBits,
                    String.format("%.4f", row.perplexity()), String.format("%.4f", row.floatPerplexity()),
                    String.format("%.5f", row.klDivergence()), String.format("%.4f", row.top1Agreement()),
                    String.format("%.3f", row.bitsPerWeight()), String.format("%.1f", row.seconds()));
            return row;
        } finally {
            q.restoreFloat();
        }
    }

    /**
     * Stored bits per quantized weight of a frozen export: the packed codes, one 32-bit scale per
     * output channel or per group ({@code channels × ceil(K / g)}), and the 32-bit exponents.
     *
     * @param manifest the export's manifest
     * @return bits per weight over every frozen layer
     */
    public static double bitsPerWeight(Manifest manifest) {
        long weights = 0;
        long bits = 0;
        for (Manifest.Layer l : manifest.layers()) {
            long n = 1;
            for (long d : l.shape()) {
                n *= d;
            }
            long channels = l.shape()[0];
            long inputs = n / channels;
            long scales = l.groupSize() > 0 ? channels * ((inputs + l.groupSize() - 1) / l.groupSize()) : channels;
            weights += n;
            bits += 8L * l.packedBytes() + 32L * scales + 32L * (l.exponents() == null ? 0 : l.exponents().length);
        }
        return (double) bits / weights;
    }

    private static long fileBytes(Path frozenDirectory, Manifest manifest) {
        try {
            return java.nio.file.Files.size(frozenDirectory.resolve(manifest.paramsFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Where {@link #run} writes a row's per-layer report: {@code <frozen>-reports/<method>-w<b>-g<g>.json}
     * ({@code -e<bits>} appended when the token table is quantized).
     *
     * @param frozenDirectory the frozen export directory of the run
     * @param method the method
     * @param bits weight bits
     * @param groupSize group size, 0 per channel
     * @param embeddingBits bits of the token table, 32 float
     * @return the file
     */
    public static Path layerReportFile(Path frozenDirectory, Method method, int bits, int groupSize, int embeddingBits) {
        Path dir = frozenDirectory.toAbsolutePath().resolveSibling(frozenDirectory.getFileName() + "-reports");
        return dir.resolve(method.id() + "-w" + bits + "-g" + groupSize + (embeddingBits < 32 ? "-e" + embeddingBits : "")
                + ".json");
    }

    private static void writeLayerReports(QuantizedModel q, Path frozenDirectory, Method method, int bits, int groupSize,
            int embeddingBits) {
        Path file = layerReportFile(frozenDirectory, method, bits, groupSize, embeddingBits);
        try {
            java.nio.file.Files.createDirectories(file.getParent());
            java.nio.file.Files.writeString(file,
                    new com.google.gson.GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
                            .create().toJson(q.getReport().layers()) + '\n',
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private LanguageModelEvaluation.Predictions predict() {
        try (NDManager step = manager.newSubManager()) {
            return LanguageModelEvaluation.predict(model.getBlock(), evaluation, TestModel.LM_CONTEXT, step);
        }
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        manager.close();
        model.close();
    }
}
