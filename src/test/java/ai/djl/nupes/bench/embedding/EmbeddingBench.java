package ai.djl.nupes.bench.embedding;

import ai.djl.Model;
import ai.djl.ModelException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.bench.ModelBench;
import ai.djl.nupes.calibrate.FinalRounding;
import ai.djl.nupes.calibrate.GptqTarget;
import ai.djl.nupes.calibrate.LatentStart;
import ai.djl.nupes.calibrate.ReconstructionUnit;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.bench.ProcessMemory;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.imports.BertBlockFactory;
import ai.djl.nupes.imports.BertConfig;
import ai.djl.nupes.imports.BertEncoder;
import ai.djl.nupes.imports.BertImporter;
import ai.djl.nupes.nn.FrozenLayer;
import ai.djl.nupes.text.TextSlices;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import ai.djl.util.Pair;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * The sentence-embedding bench on all-MiniLM-L6-v2: every requested (method, weight bits, group
 * size, embedding bits) against the float model, in one process.
 *
 * <ol>
 *   <li>The float model is imported once from LangChain4j's jar ({@link BertImporter#load}, DJL
 *       PyTorch) and embeds the evaluation verses ({@link TextSlices#kjvEvaluation()}, the first
 *       {@code evalSentences}) and the WordNet glosses and lemmas (the first {@code wordNetNouns})
 *       once: batches of {@value #BATCH}, sorted by token length, each padded to its longest,
 *       pooled by {@link Embedder} (masked mean, L2 norm) — the same code for every row.
 *   <li>Each variant: {@link Nupes#quantize} in place (data-driven methods calibrate on the first
 *       {@code calibrationSentences} KJV calibration verses, batches of 32, padded to the longest
 *       of them, in the slice's order; methods that draw nothing at random, gptq and the data-free ones, run once, seeds = 1), embed, score
 *       ({@link EmbeddingMetrics}), export frozen to a temporary directory (plus the tokenizer,
 *       which the exporter does not carry), reload it through {@code Criteria<String, float[]>}
 *       for bits per weight, a frozen-vs-memory check and latency, then {@link
 *       QuantizedModel#restoreFloat()} (checked: the float embeddings come back exactly).
 *   <li>References on ONNX Runtime: the float ONNX ({@code float-onnx}, sanity: cosine ≈ 1) and
 *       LangChain4j's int8 artifact ({@code int8-artifact}), fed the same batches.
 * </ol>
 *
 * <p>bits per weight of a frozen row: every tensor a frozen layer stores except its float bias
 * (packed codes, scales, exponents), read from the reloaded model's parameters (array length ×
 * element size), × 8, over the quantized layers' weight count (the manifest's shapes). Token,
 * position and type embeddings, LayerNorms and biases stay float and are not counted there; {@code
 * file_bits_per_param} (parameter file bits over every parameter of the float model) counts
 * everything and is the figure to compare with the ONNX files, whose {@code bits_per_weight} is
 * that same ratio.
 */
public final class EmbeddingBench {

    /** Sentences per evaluation batch. */
    public static final int BATCH = 32;

    /** Neighbours compared per verse. */
    public static final int NEIGHBOURS = 10;

    /**
     * Group sizes this checkout's library supports: 0 = one scale per output channel. Group-wise
     * scales (64, 128) are wired in {@link #configFor}.
     */
    public static final Set<Integer> SUPPORTED_GROUP_SIZES = Set.of(0, 32, 64, 128);

    /**
     * Embedding bits this checkout's library supports: 32 = float token/position embeddings (only
     * Linear layers are quantized). Quantized embeddings are wired in {@link #configFor}.
     */
    public static final Set<Integer> SUPPORTED_EMBEDDING_BITS = Set.of(32, 8, 4, 3, 2);

    private static final int PROBE = 16;
    private static final String PYTORCH = "PyTorch";
    private static final String ORT = "OnnxRuntime";

    private EmbeddingBench() {}

    /**
     * One quantized variant.
     *
     * @param method the method
     * @param wbits weight bits
     * @param groupSize weights per scale along a channel, 0 = per channel
     * @param embeddingBits bits of the embedding tables, 32 = float
     */
    public record RowSpec(Method method, int wbits, int groupSize, int embeddingBits) {

        /** Checks the values against the group sizes and table widths the bench runs. */
        public RowSpec {
            Objects.requireNonNull(method, "method");
            if (!SUPPORTED_GROUP_SIZES.contains(groupSize)) {
                throw new IllegalArgumentException("group_size " + groupSize + " is not one the bench runs: "
                        + SUPPORTED_GROUP_SIZES + " (0 = one scale per output channel)");
            }
            if (!SUPPORTED_EMBEDDING_BITS.contains(embeddingBits)) {
                throw new IllegalArgumentException("embedding_bits " + embeddingBits + " is not one the bench runs: "
                        + SUPPORTED_EMBEDDING_BITS + " (32 = float embeddings)");
            }
        }

        /**
         * The variant's name in tables and directories.
         *
         * @return e.g. {@code powerquant-layer-w4}, {@code nupes-w4-g64-e8}
         */
        public String variant() {
            return method.id() + "-w" + wbits + (groupSize > 0 ? "-g" + groupSize : "")
                    + (embeddingBits < 32 ? "-e" + embeddingBits : "");
        }
    }

    /** What to run. Defaults: uniform and powerquant-layer at W8 and W4, per channel, float embeddings. */
    public static final class Settings {
        List<Method> methods = List.of(Method.UNIFORM, Method.POWERQUANT_LAYER);
        List<Integer> bits = List.of(8, 4);
        List<Integer> groupSizes = List.of(0);
        List<Integer> embeddingBits = List.of(32);
        int seeds = 1;
        int calibrationSentences = 512;
        int evalSentences = 2000;
        int wordNetNouns = 3000;
        int iterations;
        LatentStart latentStart = LatentStart.FLOAT_WEIGHTS;
        ReconstructionUnit reconstruction = ReconstructionUnit.LAYER;
        FinalRounding finalRounding;
        GptqTarget gptqTarget;
        boolean references = true;
        boolean latency = true;
        boolean export = true;
        int b1Runs = 20;
        int b32Runs = 7;
        Path out = EmbeddingBook.DEFAULT_FILE;
        Path latencyOut = EmbeddingBook.DEFAULT_LATENCY_FILE;
        Path workDir;

        /**
         * Sets the methods.
         *
         * @param m the methods
         * @return this
         */
        public Settings methods(List<Method> m) {
            this.methods = List.copyOf(m);
            return this;
        }

        /**
         * Sets the weight bit widths.
         *
         * @param b the widths
         * @return this
         */
        public Settings bits(List<Integer> b) {
            this.bits = List.copyOf(b);
            return this;
        }

        /**
         * Sets the group sizes (0 = per channel).
         *
         * @param g the sizes
         * @return this
         */
        public Settings groupSizes(List<Integer> g) {
            this.groupSizes = List.copyOf(g);
            return this;
        }

        /**
         * Sets the embedding bit widths (32 = float).
         *
         * @param e the widths
         * @return this
         */
        public Settings embeddingBits(List<Integer> e) {
            this.embeddingBits = List.copyOf(e);
            return this;
        }

        /**
         * Sets the seed count of data-driven methods (seeds 0..n-1).
         *
         * @param n the count
         * @return this
         */
        public Settings seeds(int n) {
            this.seeds = positive("seeds", n);
            return this;
        }

        /**
         * Sets the calibration verse count (at most 1024).
         *
         * @param n the count
         * @return this
         */
        public Settings calibrationSentences(int n) {
            this.calibrationSentences = positive("calibration sentences", n);
            return this;
        }

        /**
         * Sets the evaluation verse count (at most 2000).
         *
         * @param n the count
         * @return this
         */
        public Settings evalSentences(int n) {
            if (n < 2) {
                throw new IllegalArgumentException("eval sentences must be at least 2, got " + n);
            }
            this.evalSentences = n;
            return this;
        }

        /**
         * Sets the WordNet noun count (at most 3000).
         *
         * @param n the count
         * @return this
         */
        public Settings wordNetNouns(int n) {
            this.wordNetNouns = positive("WordNet nouns", n);
            return this;
        }

        /**
         * Sets where NUPES's latent weights start.
         *
         * @param start the start
         * @return this
         */
        public Settings latentStart(LatentStart start) {
            this.latentStart = java.util.Objects.requireNonNull(start, "start");
            return this;
        }

        /**
         * Sets what one reconstruction of the learned methods learns: a layer or an encoder layer.
         *
         * @param unit the unit
         * @return this
         */
        public Settings reconstruction(ReconstructionUnit unit) {
            this.reconstruction = java.util.Objects.requireNonNull(unit, "unit");
            return this;
        }

        /**
         * Sets which codes a NUPES layer ends with (null: the library's default).
         *
         * @param rounding the final rounding
         * @return this
         */
        public Settings finalRounding(FinalRounding rounding) {
            this.finalRounding = rounding;
            return this;
        }

        /**
         * Sets what every GPTQ rounding fits (null: the library's default for the method).
         *
         * @param target the target
         * @return this
         */
        public Settings gptqTarget(GptqTarget target) {
            this.gptqTarget = target;
            return this;
        }

        /**
         * Sets the Adam steps per layer (0 = the library's default).
         *
         * @param n the count
         * @return this
         */
        public Settings iterations(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("iterations must be 0 (default) or positive, got " + n);
            }
            this.iterations = n;
            return this;
        }

        /**
         * Whether the ONNX Runtime rows (float-onnx, int8-artifact) run.
         *
         * @param on the switch
         * @return this
         */
        public Settings references(boolean on) {
            this.references = on;
            return this;
        }

        /**
         * Whether latency is measured.
         *
         * @param on the switch
         * @return this
         */
        public Settings latency(boolean on) {
            this.latency = on;
            return this;
        }

        /**
         * Sets the timed runs per latency measurement (after warm-up).
         *
         * @param batch1 runs of one verse
         * @param batch32 runs of 32 verses
         * @return this
         */
        public Settings latencyRuns(int batch1, int batch32) {
            this.b1Runs = positive("batch-1 runs", batch1);
            this.b32Runs = positive("batch-32 runs", batch32);
            return this;
        }

        /**
         * Sets the rows file.
         *
         * @param file the file
         * @return this
         */
        public Settings out(Path file) {
            this.out = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * Sets the latency file.
         *
         * @param file the file
         * @return this
         */
        public Settings latencyOut(Path file) {
            this.latencyOut = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * Sets where exports and extracted models go (default: a temporary directory, deleted
         * afterwards).
         *
         * @param dir the directory
         * @return this
         */
        public Settings workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        /**
         * The variants, in order: bits, then method, group size, embedding bits.
         *
         * @return the specs
         * @throws IllegalArgumentException for a group size or embedding width not supported yet
         */
        public List<RowSpec> specs() {
            List<RowSpec> specs = new ArrayList<>();
            for (int b : bits) {
                for (Method m : methods) {
                    for (int g : groupSizes) {
                        for (int e : embeddingBits) {
                            specs.add(new RowSpec(m, b, g, e));
                        }
                    }
                }
            }
            return specs;
        }

        private static int positive(String what, int n) {
            if (n <= 0) {
                throw new IllegalArgumentException(what + " must be positive, got " + n);
            }
            return n;
        }
    }

    /**
     * A run's output.
     *
     * @param rows the rows of this run, in run order
     * @param latency the latency rows (empty when latency is off)
     */
    public record Result(List<EmbeddingRow> rows, List<LatencyRow> latency) {}

    /** Embeddings of the three text sets. */
    private record Embeddings(float[][] eval, float[][] glosses, float[][] lemmas) {}

    /** The four scores of one embedding against the float one. */
    private record Scores(double cosMean, double cosP5, double overlap, double mrr) {}

    /** What every row is scored against. */
    private record Reference(
            Embeddings embeddings,
            int[][] neighbours,
            double mrr,
            List<String> probeTexts,
            float[][] probe,
            long parameters) {}

    /** The tokenized text sets. */
    private record Texts(
            SentenceBatches eval, SentenceBatches glosses, SentenceBatches lemmas, SentenceBatches probe) {}

    /**
     * Runs the bench, merges the rows into {@code settings.out} and writes the latency rows.
     *
     * @param settings what to run
     * @return the rows and latency of this run
     * @throws IOException on I/O failure
     * @throws ModelException when a model cannot be loaded
     * @throws TranslateException when an engine fails
     */
    public static Result run(Settings settings) throws IOException, ModelException, TranslateException {
        List<RowSpec> specs = settings.specs(); // refuses unsupported settings before any loading
        List<String> verses = head(TextSlices.kjvEvaluation(), settings.evalSentences, "evaluation verses");
        List<TextSlices.WordNetNoun> nouns = head(TextSlices.wordNetNouns(), settings.wordNetNouns, "WordNet nouns");
        boolean dataDriven = specs.stream().anyMatch(s -> s.method().needsCalibrationData());
        List<String> calibration = dataDriven
                ? head(TextSlices.kjvCalibration(), settings.calibrationSentences, "calibration verses")
                : List.of();
        boolean ownWork = settings.workDir == null;
        Path work = ownWork ? Files.createTempDirectory("nupes-embedding-bench") : settings.workDir;
        Files.createDirectories(work);
        List<EmbeddingRow> rows = new ArrayList<>();
        List<LatencyRow> latency = new ArrayList<>();
        try {
            Path tokenizerFile = MiniLmArtifacts.extract(MiniLmArtifacts.TOKENIZER, work.resolve("tokenizer.json"));
            SentenceBatches.PadToken pad = SentenceBatches.padToken(tokenizerFile);
            try (HuggingFaceTokenizer tokenizer = SentenceBatches.tokenizer(tokenizerFile)) {
                Texts texts = new Texts(
                        SentenceBatches.of(tokenizer, pad, verses, BATCH, true, SentenceBatches.Padding.LONGEST_IN_BATCH),
                        SentenceBatches.of(tokenizer, pad, nouns.stream().map(TextSlices.WordNetNoun::gloss).toList(),
                                BATCH, true, SentenceBatches.Padding.LONGEST_IN_BATCH),
                        SentenceBatches.of(tokenizer, pad, nouns.stream().map(TextSlices.WordNetNoun::lemma).toList(),
                                BATCH, true, SentenceBatches.Padding.LONGEST_IN_BATCH),
                        SentenceBatches.of(tokenizer, pad, verses.subList(0, Math.min(PROBE, verses.size())),
                                BATCH, false, SentenceBatches.Padding.LONGEST_IN_BATCH));
                SentenceBatches calibrationBatches = calibration.isEmpty() ? null
                        : SentenceBatches.of(tokenizer, pad, calibration, NupesConfig.DEFAULT_BATCH_SIZE, false,
                                SentenceBatches.Padding.LONGEST_IN_SET);
                LatencyInputs latencyInputs = LatencyInputs.of(texts.eval());
                Path jar = MiniLmArtifacts.jarOf(MiniLmArtifacts.FLOAT_ONNX);
                long start = System.nanoTime();
                try (Model model = BertImporter.load(jar)) {
                    log("imported %s from %s in %.1f s", MiniLmArtifacts.MODEL, jar.getFileName(), since(start));
                    BertConfig config = ((BertEncoder) model.getBlock()).getConfig();
                    Reference ref = reference(model, texts);
                    rows.add(floatRow(settings, ref, jar, work, latencyInputs, latency));
                    for (RowSpec spec : specs) {
                        rows.add(quantizedRow(settings, spec, model, config, ref, texts, calibrationBatches,
                                tokenizerFile, work, latencyInputs, latency));
                    }
                    if (settings.references) {
                        rows.add(onnxRow(settings, "float-onnx", 32, 32, MiniLmArtifacts.FLOAT_ONNX,
                                MiniLmArtifacts.TOKENIZER, ref, texts, work, latencyInputs, latency));
                        rows.add(onnxRow(settings, "int8-artifact", 8, 8, MiniLmArtifacts.INT8_ONNX,
                                MiniLmArtifacts.INT8_TOKENIZER, ref, texts, work, latencyInputs, latency));
                    }
                }
            }
        } finally {
            if (ownWork) {
                deleteTree(work);
            }
        }
        EmbeddingBook.merge(settings.out, rows);
        if (settings.latency) {
            EmbeddingBook.writeLatency(settings.latencyOut, latency);
        }
        return new Result(List.copyOf(rows), List.copyOf(latency));
    }

    /**
     * The config of one variant and seed: the one place where group-wise scales and quantized
     * embeddings get wired in once the library has them.
     *
     * @param spec the variant (already checked by {@link RowSpec})
     * @param seed the seed
     * @param settings the run's settings
     * @param calibration the calibration inputs, or null for data-free methods
     * @return the config
     */
    static NupesConfig configFor(RowSpec spec, long seed, Settings settings, Iterable<NDList> calibration) {
        NupesConfig.Builder b = NupesConfig.builder().optMethod(spec.method()).setBits(spec.wbits()).optSeed(seed)
                .optGroupSize(spec.groupSize())
                .optEmbeddingBits(spec.embeddingBits());
        if (spec.method().needsCalibrationData()) {
            // input 1 is the attention mask: padded positions enter no loss and no input range
            b.optCalibrationData(calibration)
                    .optPaddingMask(1)
                    .optCalibrationSamples(settings.calibrationSentences)
                    .optBatchSize(NupesConfig.DEFAULT_BATCH_SIZE);
            if (settings.iterations > 0) {
                b.optIterations(settings.iterations);
            }
            b.optLatentStart(settings.latentStart);
            if (settings.reconstruction.appliesTo(spec.method())) {
                b.optReconstructionUnit(settings.reconstruction);
            }
            if (settings.finalRounding != null) {
                b.optFinalRounding(settings.finalRounding);
            }
            if (settings.gptqTarget != null) {
                b.optGptqTarget(settings.gptqTarget);
            }
        }
        return b.build();
    }

    // ------------------------------------------------------------------ rows

    private static Reference reference(Model model, Texts texts) throws TranslateException {
        long start = System.nanoTime();
        Embeddings e = embedAll(Embedder.of(model.getBlock()), texts, model.getNDManager());
        log("float embeddings of %d verses, %d glosses and %d lemmas in %.1f s", texts.eval().size(),
                texts.glosses().size(), texts.lemmas().size(), since(start));
        float[][] probe = Embedder.embed(texts.probe(), Embedder.of(model.getBlock()), model.getNDManager());
        long parameters = 0;
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            parameters += p.getValue().getArray().size();
        }
        return new Reference(e, EmbeddingMetrics.nearestNeighbours(e.eval(), neighbours(texts)),
                EmbeddingMetrics.meanReciprocalRank(e.glosses(), e.lemmas()), texts.probe().texts(), probe, parameters);
    }

    private static EmbeddingRow floatRow(Settings s, Reference ref, Path jar, Path work, LatencyInputs in,
            List<LatencyRow> latency) throws IOException, ModelException, TranslateException {
        Path dir = BertImporter.writeModelDirectory(jar, work.resolve("float"), MiniLmArtifacts.MODEL);
        long bytes = Files.size(dir.resolve(MiniLmArtifacts.MODEL + "-0000.params"));
        double routeCos;
        try (ZooModel<String, float[]> m = djlEmbedding(dir)) {
            routeCos = minCosine(m, ref.probeTexts(), ref.probe());
            if (s.latency) {
                latency.add(measure(s, "float", PYTORCH, m, in));
            }
        }
        deleteTree(dir);
        EmbeddingRow row = new EmbeddingRow(MiniLmArtifacts.MODEL, "float", PYTORCH, 32, 0, 32, 1, 1, 1, 1,
                ref.mrr(), ref.mrr(), 0, 32, bytes, 8.0 * bytes / ref.parameters(), 0, null, null, null, null,
                routeCos, ref.embeddings().eval().length, ref.embeddings().glosses().length, 0, ProcessMemory.peakRssMb());
        logRow(row);
        return row;
    }

    private static EmbeddingRow quantizedRow(Settings s, RowSpec spec, Model model, BertConfig config,
            Reference ref, Texts texts, SentenceBatches calibration, Path tokenizerFile, Path work,
            LatencyInputs in, List<LatencyRow> latency) throws IOException, ModelException, TranslateException {
        int seeds = spec.method().usesSeed() ? s.seeds : 1;
        List<Scores> scores = new ArrayList<>();
        double seconds = 0;
        double bitsPerWeight = Double.NaN;
        long fileBytes = -1;
        Double criteriaCosMin = null;
        String label = null;
        for (int seed = 0; seed < seeds; seed++) {
            QuantizedModel q;
            try (NDManager calibrationManager = model.getNDManager().newSubManager()) {
                Iterable<NDList> inputs = calibration == null ? null : calibration.inputs(calibrationManager);
                NupesConfig cfg = configFor(spec, seed, s, inputs);
                label = ModelBench.label(spec.method(), cfg.getCalibrationSettings());
                long start = System.nanoTime();
                q = Nupes.quantize(model, cfg);
                seconds += since(start);
            }
            try {
                long start = System.nanoTime();
                Embeddings e = embedAll(Embedder.of(model.getBlock()), texts, model.getNDManager());
                Scores sc = score(ref, e, texts);
                scores.add(sc);
                log("%s seed %d: quantized in %.1f s, embedded and scored in %.1f s: cos %.4f / p5 %.4f,"
                                + " overlap@10 %.4f, MRR %.4f", spec.variant(), seed,
                        q.getReport().seconds(), since(start), sc.cosMean(), sc.cosP5(), sc.overlap(), sc.mrr());
                if (seed == 0 && s.export) {
                    Path dir = work.resolve("frozen-" + spec.variant());
                    Manifest manifest = FrozenExporter.export(q, dir, ExportOptions.builder()
                            .optModelName(MiniLmArtifacts.MODEL)
                            .optArchitecture(BertBlockFactory.class.getName(), config.toArguments())
                            .optFile(tokenizerFile)
                            .build());
                    fileBytes = Files.size(dir.resolve(manifest.paramsFile()));
                    try (ZooModel<String, float[]> frozen = djlEmbedding(dir)) {
                        bitsPerWeight = bitsPerWeight(frozen.getBlock(), manifest);
                        criteriaCosMin = minCosine(frozen, texts.probe().texts(),
                                Arrays.copyOf(e.eval(), texts.probe().size()));
                        if (s.latency) {
                            latency.add(measure(s, spec.variant(), PYTORCH, frozen, in));
                        }
                    }
                    deleteTree(dir);
                }
            } finally {
                q.restoreFloat();
            }
            requireFloatRestored(model, ref, texts);
        }
        Scores mean = new Scores(meanOf(scores, Scores::cosMean), meanOf(scores, Scores::cosP5),
                meanOf(scores, Scores::overlap), meanOf(scores, Scores::mrr));
        boolean spread = scores.size() > 1;
        EmbeddingRow row = new EmbeddingRow(MiniLmArtifacts.MODEL,
                label, PYTORCH, spec.wbits(),
                spec.groupSize(), spec.embeddingBits(), seeds, mean.cosMean(), mean.cosP5(), mean.overlap(),
                mean.mrr(), ref.mrr(), ref.mrr() - mean.mrr(), bitsPerWeight, fileBytes,
                fileBytes < 0 ? Double.NaN : 8.0 * fileBytes / ref.parameters(), seconds / seeds,
                spread ? spreadOf(scores, Scores::cosMean) : null, spread ? spreadOf(scores, Scores::cosP5) : null,
                spread ? spreadOf(scores, Scores::overlap) : null, spread ? spreadOf(scores, Scores::mrr) : null,
                criteriaCosMin, texts.eval().size(), texts.glosses().size(),
                spec.method().needsCalibrationData() ? s.calibrationSentences : 0, ProcessMemory.peakRssMb());
        logRow(row);
        return row;
    }

    private static EmbeddingRow onnxRow(Settings s, String method, int wbits, int embeddingBits, String entry,
            String tokenizerEntry, Reference ref, Texts texts, Path work, LatencyInputs in,
            List<LatencyRow> latency) throws IOException, ModelException, TranslateException {
        Path dir = Files.createDirectories(work.resolve(method));
        Path onnx = MiniLmArtifacts.extract(entry, dir.resolve(entry));
        MiniLmArtifacts.extract(tokenizerEntry, dir.resolve(BertImporter.TOKENIZER_FILE));
        long bytes = Files.size(onnx);
        Scores sc;
        List<String> names;
        Double routeCos;
        try (ZooModel<NDList, NDList> m = Criteria.builder().setTypes(NDList.class, NDList.class)
                        .optModelPath(onnx).optEngine(ORT).build().loadModel();
                Predictor<NDList, NDList> predictor = m.newPredictor();
                NDManager manager = NDManager.newBaseManager(PYTORCH)) {
            names = new ArrayList<>(m.describeInput().keys());
            if (!SentenceBatches.INPUT_NAMES.containsAll(names)) {
                throw new IllegalStateException(entry + " takes inputs " + names + ", expected a subset of "
                        + SentenceBatches.INPUT_NAMES);
            }
            long start = System.nanoTime();
            Embeddings e = embedAll(Embedder.of(predictor, names), texts, manager);
            sc = score(ref, e, texts);
            log("%s (inputs %s): embedded and scored in %.1f s", method, names, since(start));
            routeCos = null;
            if (s.latency) {
                List<String> inOrder = SentenceBatches.INPUT_NAMES.stream().filter(names::contains).toList();
                if (!inOrder.equals(names) || !names.containsAll(List.of("input_ids", "attention_mask"))) {
                    log("%s: inputs %s are not in the translator's order %s; no latency row", method, names,
                            inOrder);
                } else {
                    try (ZooModel<String, float[]> t = Criteria.builder().setTypes(String.class, float[].class)
                            .optModelPath(onnx).optEngine(ORT)
                            .optArgument("translatorFactory", BertImporter.EMBEDDING_TRANSLATOR_FACTORY)
                            .optArgument("includeTokenTypes", Boolean.toString(names.contains("token_type_ids")))
                            .build().loadModel()) {
                        routeCos = minCosine(t, texts.probe().texts(), Arrays.copyOf(e.eval(), texts.probe().size()));
                        log("%s: Criteria<String, float[]> vs batched embeddings: min cosine %.6f", method, routeCos);
                        latency.add(measure(s, method, ORT, t, in));
                    }
                }
            }
        }
        deleteTree(dir);
        EmbeddingRow row = new EmbeddingRow(MiniLmArtifacts.MODEL, method, ORT, wbits, 0, embeddingBits, 1,
                sc.cosMean(), sc.cosP5(), sc.overlap(), sc.mrr(), ref.mrr(), ref.mrr() - sc.mrr(),
                8.0 * bytes / ref.parameters(), bytes, 8.0 * bytes / ref.parameters(), 0, null, null, null, null,
                routeCos, texts.eval().size(), texts.glosses().size(), 0, ProcessMemory.peakRssMb());
        logRow(row);
        return row;
    }

    // ------------------------------------------------------------------ measurements

    private static Embeddings embedAll(Embedder.Forward forward, Texts texts, NDManager manager)
            throws TranslateException {
        return new Embeddings(Embedder.embed(texts.eval(), forward, manager),
                Embedder.embed(texts.glosses(), forward, manager), Embedder.embed(texts.lemmas(), forward, manager));
    }

    private static Scores score(Reference ref, Embeddings e, Texts texts) {
        double[] cos = EmbeddingMetrics.cosines(ref.embeddings().eval(), e.eval());
        double overlap = EmbeddingMetrics.neighbourOverlap(ref.neighbours(),
                EmbeddingMetrics.nearestNeighbours(e.eval(), neighbours(texts)));
        return new Scores(EmbeddingMetrics.mean(cos), EmbeddingMetrics.percentile(cos, 0.05), overlap,
                EmbeddingMetrics.meanReciprocalRank(e.glosses(), e.lemmas()));
    }

    private static int neighbours(Texts texts) {
        return Math.min(NEIGHBOURS, texts.eval().size() - 1);
    }

    /**
     * Bits per quantized weight of a reloaded frozen model: every parameter of every frozen layer
     * except {@code bias}, array length × element bytes × 8, over the manifest's weight count.
     */
    static double bitsPerWeight(Block root, Manifest manifest) {
        long bytes = 0;
        int layers = 0;
        List<Block> stack = new ArrayList<>(List.of(root));
        while (!stack.isEmpty()) {
            Block b = stack.remove(stack.size() - 1);
            if (b instanceof FrozenLayer) {
                layers++;
                for (Pair<String, Parameter> p : b.getDirectParameters()) {
                    if (!"bias".equals(p.getKey())) {
                        NDArray a = p.getValue().getArray();
                        bytes += a.size() * a.getDataType().getNumOfBytes();
                    }
                }
            }
            b.getChildren().values().forEach(stack::add);
        }
        if (layers != manifest.layers().size()) {
            throw new IllegalStateException("the reloaded model has " + layers + " frozen layers, the manifest "
                    + manifest.layers().size());
        }
        long weights = 0;
        for (Manifest.Layer l : manifest.layers()) {
            weights += Arrays.stream(l.shape()).reduce(1, (x, y) -> x * y);
        }
        return 8.0 * bytes / weights;
    }

    private static double minCosine(ZooModel<String, float[]> model, List<String> sentences, float[][] expected)
            throws TranslateException {
        try (Predictor<String, float[]> p = model.newPredictor()) {
            List<float[]> got = p.batchPredict(sentences);
            double[] cos = EmbeddingMetrics.cosines(expected, got.toArray(new float[0][]));
            return Arrays.stream(cos).min().orElse(Double.NaN);
        }
    }

    /** After restoreFloat the model must give the float embeddings back. */
    private static void requireFloatRestored(Model model, Reference ref, Texts texts) throws TranslateException {
        float[][] again = Embedder.embed(texts.probe(), Embedder.of(model.getBlock()), model.getNDManager());
        double min = Arrays.stream(EmbeddingMetrics.cosines(ref.probe(), again)).min().orElse(Double.NaN);
        if (!(min >= 0.999999)) {
            throw new IllegalStateException("restoreFloat did not give the float model back: min cosine " + min);
        }
    }

    /** Sentences for latency: one verse of median token length, and the first 32 verses. */
    private record LatencyInputs(String one, int oneTokens, List<String> batch, int batchTokens) {
        static LatencyInputs of(SentenceBatches eval) {
            Integer[] order = new Integer[eval.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, Comparator.comparingInt(eval::length).thenComparingInt(i -> i));
            int median = order[order.length / 2];
            int n = Math.min(BATCH, eval.size());
            int longest = 0;
            for (int i = 0; i < n; i++) {
                longest = Math.max(longest, eval.length(i));
            }
            return new LatencyInputs(eval.texts().get(median), eval.length(median), eval.texts().subList(0, n),
                    longest);
        }
    }

    private static LatencyRow measure(Settings s, String variant, String engine, ZooModel<String, float[]> model,
            LatencyInputs in) throws TranslateException {
        try (Predictor<String, float[]> p = model.newPredictor()) {
            double[] b1 = new double[s.b1Runs];
            for (int i = -3; i < b1.length; i++) {
                long start = System.nanoTime();
                p.predict(in.one());
                if (i >= 0) {
                    b1[i] = (System.nanoTime() - start) / 1e6;
                }
            }
            double[] b32 = new double[s.b32Runs];
            for (int i = -2; i < b32.length; i++) {
                long start = System.nanoTime();
                p.batchPredict(in.batch());
                if (i >= 0) {
                    b32[i] = (System.nanoTime() - start) / 1e6;
                }
            }
            LatencyRow row = new LatencyRow(MiniLmArtifacts.MODEL, variant, engine, median(b1), median(b32),
                    b1.length, b32.length, in.oneTokens(), in.batchTokens());
            log("latency %s (%s): batch 1 %.1f ms, batch %d %.0f ms", variant, engine, row.b1Ms(),
                    in.batch().size(), row.b32Ms());
            return row;
        }
    }

    private static ZooModel<String, float[]> djlEmbedding(Path dir) throws IOException, ModelException {
        return BertImporter.embeddingCriteria(dir).toBuilder().optArgument("includeTokenTypes", "true").build()
                .loadModel();
    }

    // ------------------------------------------------------------------ helpers

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double meanOf(List<Scores> s, ToDoubleFunction<Scores> f) {
        return s.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    private static double spreadOf(List<Scores> s, ToDoubleFunction<Scores> f) {
        return s.stream().mapToDouble(f).max().orElse(Double.NaN) - s.stream().mapToDouble(f).min().orElse(Double.NaN);
    }

    private static <T> List<T> head(List<T> all, int n, String what) {
        if (n > all.size()) {
            throw new IllegalArgumentException("only " + all.size() + " " + what + " are bundled, " + n + " asked");
        }
        return all.subList(0, n);
    }


    private static double since(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    private static void log(String format, Object... args) {
        System.out.println("[bench-embedding] " + String.format(Locale.ROOT, format, args));
    }

    private static void logRow(EmbeddingRow r) {
        log("row %s W%d g%d e%d: cos %.4f, p5 %.4f, overlap@10 %.4f, MRR %.4f (drop %.4f), %.3f bits/weight,"
                        + " %d bytes, peak RSS %.0f MB", r.method(), r.wbits(), r.groupSize(), r.embeddingBits(),
                r.cosMean(), r.cosP5(), r.overlap10(), r.mrr(), r.mrrDrop(), r.bitsPerWeight(), r.fileBytes(),
                r.peakRssMb());
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
