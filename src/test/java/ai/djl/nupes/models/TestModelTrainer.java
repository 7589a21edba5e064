package ai.djl.nupes.models;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.format.Checksums;
import ai.djl.nupes.text.KjvCorpus;
import ai.djl.training.GradientCollector;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.training.tracker.WarmUpTracker;
import ai.djl.translate.TranslateException;

import com.google.gson.GsonBuilder;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.Map;

/**
 * Trains a test model and writes its directory: the parameters, {@code serving.properties} naming
 * {@link TestModelBlockFactory}, and {@code provenance.json}. The classifiers train on the full
 * Fashion-MNIST training set (seed, epochs, optimizer, float accuracy on the full 10k test set and
 * on the bundled subset, parameter checksum are recorded); the language model {@link TestModel#LM}
 * trains on the KJV text ({@link #trainLanguageModel}).
 */
public final class TestModelTrainer {

    private static final Logger logger = LogManager.getLogger(TestModelTrainer.class);

    private TestModelTrainer() {}

    /**
     * Training settings.
     *
     * @param epochs passes over the 60k training images
     * @param batchSize images per step
     * @param learningRate Adam's peak learning rate (cosine decay to 5 % of it)
     * @param seed the engine and shuffling seed
     */
    public record Settings(int epochs, int batchSize, float learningRate, long seed) {}

    /**
     * The settings each test model was trained with.
     *
     * @param model the model
     * @return its settings
     */
    public static Settings defaults(TestModel model) {
        switch (model) {
            case MLP:
                return new Settings(10, 128, 1e-3f, 42);
            case CNN:
                return new Settings(6, 128, 1e-3f, 42);
            case RESNET:
                return new Settings(4, 128, 2e-3f, 42);
            case TRANSFORMER:
                return new Settings(5, 128, 1e-3f, 42);
            case LM:
                throw new IllegalArgumentException("lm trains with languageDefaults()");
            default:
                throw new IllegalArgumentException(model.toString());
        }
    }

    /**
     * Trains and writes the model directory.
     *
     * @param model which model
     * @param settings how
     * @param dataDirectory the full Fashion-MNIST directory
     * @param outDirectory where to write (existing parameter files there are replaced)
     * @return the float accuracy on the full test set
     * @throws IOException when data is missing or files cannot be written
     * @throws TranslateException when training fails
     */
    public static double train(
            TestModel model, Settings settings, Path dataDirectory, Path outDirectory)
            throws IOException, TranslateException {
        if (FashionMnistIdx.isBundled(dataDirectory)) {
            throw new IOException(
                    "training needs the full Fashion-MNIST (Debian package 'dataset-fashion-mnist'),"
                            + " not the bundled subset at " + dataDirectory);
        }
        Engine.getInstance().setRandomSeed((int) settings.seed());
        long start = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager();
                Model m = Model.newInstance(model.id())) {
            FashionMnistIdx train = dataset(manager, dataDirectory, FashionMnistIdx.Split.TRAIN, settings, true);
            FashionMnistIdx test = dataset(manager, dataDirectory, FashionMnistIdx.Split.TEST, settings, false);
            m.setBlock(model.newBlock());
            int steps = (int) Math.ceil(train.size() / (double) settings.batchSize()) * settings.epochs();
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(
                                                    Tracker.cosine()
                                                            .setBaseValue(settings.learningRate())
                                                            .optFinalValue(settings.learningRate() * 0.05f)
                                                            .setMaxUpdates(steps)
                                                            .build())
                                            .build())
                            .addEvaluator(new Accuracy())
                            .addTrainingListeners(TrainingListener.Defaults.logging());
            try (Trainer trainer = m.newTrainer(config)) {
                trainer.initialize(new Shape(settings.batchSize(), 1, 28, 28));
                EasyTrain.fit(trainer, settings.epochs(), train, test);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double accuracy = Evaluation.accuracy(m.getBlock(), test, manager);
            double subsetAccuracy;
            try (NDManager sub = manager.newSubManager()) {
                FashionMnistIdx subset =
                        FashionMnistIdx.prepared(
                                sub, FashionMnistIdx.BUNDLED_DIRECTORY, FashionMnistIdx.Split.TEST, Evaluation.BATCH_SIZE);
                subsetAccuracy = Evaluation.accuracy(m.getBlock(), subset, sub);
            }
            write(model, settings, m, outDirectory, accuracy, subsetAccuracy, test.size(), seconds);
            logger.info(
                    "{}: float accuracy {} on {} test images ({} on the bundled subset), {} s",
                    model.id(),
                    String.format("%.4f", accuracy),
                    test.size(),
                    String.format("%.4f", subsetAccuracy),
                    String.format("%.0f", seconds));
            return accuracy;
        }
    }


    /**
     * The language model's training settings.
     *
     * @param steps Adam steps
     * @param batchSize windows per step
     * @param learningRate peak learning rate (linear warm-up, then cosine to 5 % of it)
     * @param warmupSteps warm-up steps
     * @param seed the engine seed and the window-sampling seed
     * @param calibrationWindows training-range windows written to {@code calibration.txt}
     * @param evaluationWindows test-range windows written to {@code evaluation.txt} (from its start)
     */
    public record LanguageSettings(
            int steps,
            int batchSize,
            float learningRate,
            int warmupSteps,
            long seed,
            int calibrationWindows,
            int evaluationWindows) {}

    /**
     * The settings the shipped {@code lm} was trained with.
     *
     * @return the settings
     */
    public static LanguageSettings languageDefaults() {
        return new LanguageSettings(LM_STEPS, 32, 2e-3f, 100, 42, 128, 256);
    }

    /** Steps of the shipped {@code lm} (sized to about 40 minutes on the shared 2-core machine). */
    static final int LM_STEPS = 2400;

    /** Validation windows (from the start of the validation range) scored during and after training. */
    static final int VALIDATION_WINDOWS = 128;

    /** Windows of the shipped evaluation slice whose float perplexity provenance records for the tests. */
    public static final int SMOKE_WINDOWS = 8;

    /**
     * Trains the language model on the KJV training range ({@link KjvCorpus}, needs Debian's
     * bible-kjv) and writes its directory, its calibration and evaluation slices and provenance
     * (ranges, checksums, test perplexity and bits per character, unigram and bigram baselines).
     *
     * @param settings how
     * @param outDirectory where to write (existing parameter files there are replaced)
     * @param measureOnly when positive, run only this many steps, log their time and write nothing
     * @return the test perplexity (NaN when only measuring)
     * @throws IOException when the corpus is missing or files cannot be written
     */
    public static double trainLanguageModel(LanguageSettings settings, Path outDirectory, int measureOnly)
            throws IOException {
        TestModel model = TestModel.LM;
        int context = TestModel.LM_CONTEXT;
        int vocab = TestModel.LM_VOCAB;
        Map<KjvCorpus.Split, String> texts = new LinkedHashMap<>();
        for (KjvCorpus.Split split : KjvCorpus.Split.values()) {
            texts.put(split, KjvCorpus.read(split));
        }
        int[] train = KjvCorpus.encode(texts.get(KjvCorpus.Split.TRAIN), vocab);
        int[] validation = KjvCorpus.encode(texts.get(KjvCorpus.Split.VALIDATION), vocab);
        int[] test = KjvCorpus.encode(texts.get(KjvCorpus.Split.TEST), vocab);
        int[] validationHead = java.util.Arrays.copyOf(validation, VALIDATION_WINDOWS * context + 1);
        logger.info("lm corpus: train {} chars, validation {}, test {}", train.length, validation.length, test.length);

        Engine.getInstance().setRandomSeed((int) settings.seed());
        int steps = measureOnly > 0 ? measureOnly : settings.steps();
        long start = System.nanoTime();
        List<Map<String, Object>> curve = new java.util.ArrayList<>();
        try (Model m = Model.newInstance(model.id())) {
            m.setBlock(model.newBlock());
            Tracker cosine =
                    Tracker.cosine()
                            .setBaseValue(settings.learningRate())
                            .optFinalValue(settings.learningRate() * 0.05f)
                            .setMaxUpdates(Math.max(1, settings.steps() - settings.warmupSteps()))
                            .build();
            Tracker lr =
                    WarmUpTracker.builder()
                            .setMainTracker(cosine)
                            .optWarmUpSteps(settings.warmupSteps())
                            .optWarmUpBeginValue(settings.learningRate() * 0.01f)
                            .build();
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(Optimizer.adam().optLearningRateTracker(lr).build());
            Random windows = new Random(settings.seed());
            try (Trainer trainer = m.newTrainer(config)) {
                trainer.initialize(new Shape(settings.batchSize(), context));
                long last = System.nanoTime();
                double lossSum = 0;
                int lossCount = 0;
                for (int step = 1; step <= steps; step++) {
                    try (NDManager sm = trainer.getManager().newSubManager()) {
                        int b = settings.batchSize();
                        long[] x = new long[b * context];
                        long[] y = new long[b * context];
                        for (int w = 0; w < b; w++) {
                            int from = windows.nextInt(train.length - context - 1);
                            for (int t = 0; t < context; t++) {
                                x[w * context + t] = train[from + t];
                                y[w * context + t] = train[from + t + 1];
                            }
                        }
                        NDArray input = sm.create(x, new Shape(b, context));
                        NDArray labels = sm.create(y, new Shape((long) b * context));
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray logits = trainer.forward(new NDList(input)).head();
                            NDArray loss =
                                    trainer.getLoss()
                                            .evaluate(
                                                    new NDList(labels),
                                                    new NDList(logits.reshape((long) b * context, vocab)));
                            gc.backward(loss);
                            lossSum += loss.getFloat();
                            lossCount++;
                        }
                        trainer.step();
                    }
                    if (step % 25 == 0 || step == steps) {
                        long now = System.nanoTime();
                        logger.info(
                                "lm step {}/{}: train loss {} ({} bits/char), {} s/step, {} s so far",
                                step,
                                steps,
                                String.format("%.4f", lossSum / lossCount),
                                String.format("%.3f", lossSum / lossCount / Math.log(2)),
                                String.format("%.2f", (now - last) / 1e9 / 25),
                                String.format("%.0f", (now - start) / 1e9));
                        last = now;
                        if (measureOnly <= 0 && (step % 250 == 0 || step == steps)) {
                            double val = score(m, validationHead, context).bitsPerCharacter();
                            Map<String, Object> point = new LinkedHashMap<>();
                            point.put("step", step);
                            point.put("train_bits_per_char", round4(lossSum / lossCount / Math.log(2)));
                            point.put("validation_bits_per_char", round4(val));
                            curve.add(point);
                            logger.info("lm step {}: validation {} bits/char (first {} windows)", step,
                                    String.format("%.4f", val), VALIDATION_WINDOWS);
                        }
                        lossSum = 0;
                        lossCount = 0;
                    }
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (measureOnly > 0) {
                logger.info("lm: {} steps measured in {} s", steps, String.format("%.1f", seconds));
                return Double.NaN;
            }
            long evalStart = System.nanoTime();
            LanguageModelEvaluation.Predictions testScores = score(m, test, context);
            LanguageModelEvaluation.Predictions valScores = score(m, validationHead, context);
            logger.info("lm: test perplexity {} ({} bits/char) on {} positions, {} s", 
                    String.format("%.4f", testScores.perplexity()),
                    String.format("%.4f", testScores.bitsPerCharacter()),
                    testScores.positions(),
                    String.format("%.0f", (System.nanoTime() - evalStart) / 1e9));
            writeLanguageModel(settings, m, outDirectory, texts, train, test, testScores, valScores, curve, seconds);
            return testScores.perplexity();
        }
    }

    private static LanguageModelEvaluation.Predictions score(Model m, int[] ids, int context) {
        try (NDManager manager = m.getNDManager().newSubManager()) {
            return LanguageModelEvaluation.predict(m.getBlock(), ids, context, manager);
        }
    }

    private static void writeLanguageModel(
            LanguageSettings settings,
            Model m,
            Path dir,
            Map<KjvCorpus.Split, String> texts,
            int[] train,
            int[] test,
            LanguageModelEvaluation.Predictions testScores,
            LanguageModelEvaluation.Predictions valScores,
            List<Map<String, Object>> curve,
            double seconds)
            throws IOException {
        TestModel model = TestModel.LM;
        int context = TestModel.LM_CONTEXT;
        Path params = saveModel(model, m, dir);
        String trainText = texts.get(KjvCorpus.Split.TRAIN);
        String testText = texts.get(KjvCorpus.Split.TEST);
        // calibration: seeded windows of the training range; evaluation: the test range's start
        Random draw = new Random(settings.seed() + 1);
        StringBuilder calibration = new StringBuilder();
        for (int i = 0; i < settings.calibrationWindows(); i++) {
            int from = draw.nextInt(trainText.length() - context);
            calibration.append(trainText, from, from + context);
        }
        String evaluation = testText.substring(0, settings.evaluationWindows() * context + 1);
        Files.writeString(dir.resolve(LanguageModelSlices.CALIBRATION), calibration, StandardCharsets.US_ASCII);
        Files.writeString(dir.resolve(LanguageModelSlices.EVALUATION), evaluation, StandardCharsets.US_ASCII);
        LanguageModelEvaluation.Predictions slice =
                score(m, KjvCorpus.encode(evaluation, TestModel.LM_VOCAB), context);
        LanguageModelEvaluation.Predictions smoke =
                score(m, KjvCorpus.encode(evaluation.substring(0, SMOKE_WINDOWS * context + 1), TestModel.LM_VOCAB), context);

        CharNgramBaseline unigram = CharNgramBaseline.unigram(train, TestModel.LM_VOCAB);
        CharNgramBaseline bigram = CharNgramBaseline.bigram(train, TestModel.LM_VOCAB);

        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("model", model.id());
        provenance.put("architecture", CharLanguageModel.class.getName());
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("vocab", TestModel.LM_VOCAB);
        shape.put("context", context);
        shape.put("width", TestModel.LM_WIDTH);
        shape.put("layers", TestModel.LM_LAYERS);
        shape.put("heads", TestModel.LM_HEADS);
        shape.put("ffn", TestModel.LM_FFN);
        shape.put("lm_head", "untied Linear");
        provenance.put("shape", shape);
        provenance.put("parameters", parameterCount(m));
        provenance.put("trainer", TestModelTrainer.class.getName());
        provenance.put("seed", settings.seed());
        provenance.put("steps", settings.steps());
        provenance.put("batch_size", settings.batchSize());
        provenance.put("train_characters_seen", (long) settings.steps() * settings.batchSize() * context);
        provenance.put("optimizer", String.format(java.util.Locale.ROOT,
                "adam, linear warm-up %d steps, cosine learning rate %.4g -> %.4g", settings.warmupSteps(),
                settings.learningRate(), settings.learningRate() * 0.05f));
        Map<String, Object> corpus = new LinkedHashMap<>();
        corpus.put("name", "King James Version (1611) Bible text, one verse a line without references");
        corpus.put("package", "bible-kjv 4.38 (Debian), read with `bible -f <range>` as test-models/data/make-text-slices.py does");
        corpus.put("data_file", KjvCorpus.DATA_FILE);
        Path data = Path.of(KjvCorpus.DATA_FILE);
        if (Files.isRegularFile(data)) {
            corpus.put("data_sha256", Checksums.sha256(data));
        }
        corpus.put("license", "Public domain (KJV text; /usr/share/doc/bible-kjv/copyright: 'The copyright for the"
                + " King James Version text of the Bible is expired'); the bible-kjv retrieval software is GPL-2+"
                + " and is not shipped");
        corpus.put("encoding", "ASCII bytes as ids 0..127; each verse's text followed by one newline");
        Map<String, Object> ranges = new LinkedHashMap<>();
        for (Map.Entry<KjvCorpus.Split, String> e : texts.entrySet()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("range", e.getKey().range());
            r.put("characters", e.getValue().length());
            r.put("verses", e.getValue().chars().filter(c -> c == '\n').count());
            r.put("sha256", sha256(e.getValue()));
            ranges.put(e.getKey().name().toLowerCase(java.util.Locale.ROOT), r);
        }
        corpus.put("ranges", ranges);
        provenance.put("corpus", corpus);
        Map<String, Object> slices = new LinkedHashMap<>();
        Map<String, Object> cal = new LinkedHashMap<>();
        cal.put("file", LanguageModelSlices.CALIBRATION);
        cal.put("sha256", Checksums.sha256(dir.resolve(LanguageModelSlices.CALIBRATION)));
        cal.put("windows", settings.calibrationWindows());
        cal.put("procedure", "windows of " + context + " characters of the train range text at offsets"
                + " java.util.Random(seed + 1).nextInt(length - " + context + "), concatenated");
        slices.put("calibration", cal);
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("file", LanguageModelSlices.EVALUATION);
        ev.put("sha256", Checksums.sha256(dir.resolve(LanguageModelSlices.EVALUATION)));
        ev.put("windows", settings.evaluationWindows());
        ev.put("procedure", "the first windows x " + context + " + 1 characters of the test range text");
        ev.put("float_perplexity", round6(slice.perplexity()));
        ev.put("float_bits_per_char", round6(slice.bitsPerCharacter()));
        ev.put("smoke_windows", SMOKE_WINDOWS);
        ev.put("smoke_float_perplexity", round6(smoke.perplexity()));
        slices.put("evaluation", ev);
        provenance.put("slices", slices);
        Map<String, Object> results = new LinkedHashMap<>();
        results.put("evaluation", "non-overlapping windows of " + context + " characters, every whole window of the"
                + " range; each character scored given the characters before it in its window");
        results.put("test_perplexity", round4(testScores.perplexity()));
        results.put("test_bits_per_char", round4(testScores.bitsPerCharacter()));
        results.put("test_positions", testScores.positions());
        results.put("validation_bits_per_char_first_" + VALIDATION_WINDOWS + "_windows", round4(valScores.bitsPerCharacter()));
        results.put("unigram_test_perplexity", round4(unigram.perplexity(test)));
        results.put("unigram_test_bits_per_char", round4(unigram.bitsPerCharacter(test)));
        results.put("bigram_test_perplexity", round4(bigram.perplexity(test)));
        results.put("bigram_test_bits_per_char", round4(bigram.bitsPerCharacter(test)));
        results.put("baselines", "add-one smoothed over the 128 ids, counted on the train range, scored on every"
                + " test-range character after the first");
        provenance.put("results", results);
        provenance.put("curve", curve);
        provenance.put("params_file", params.getFileName().toString());
        provenance.put("params_sha256", Checksums.sha256(params));
        provenance.put("train_seconds", Math.round(seconds));
        provenance.put("train_machine", "2 CPU cores shared with other jobs, PyTorch engine, "
                + Runtime.getRuntime().availableProcessors() + " processors visible");
        provenance.put("trained_at", Instant.now().toString());
        Files.writeString(
                dir.resolve("provenance.json"),
                new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(provenance) + '\n',
                StandardCharsets.UTF_8);
    }

    private static long parameterCount(Model m) {
        return m.getBlock().getParameters().stream().mapToLong(p -> p.getValue().getArray().size()).sum();
    }

    private static String sha256(String text) {
        try {
            return java.util.HexFormat.of()
                    .formatHex(java.security.MessageDigest.getInstance("SHA-256")
                            .digest(text.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path saveModel(TestModel model, Model m, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, "*.params")) {
            for (Path p : old) {
                Files.delete(p);
            }
        }
        m.setProperty("Epoch", "0");
        m.save(dir, model.id());
        String serving =
                "# loads with Criteria.builder().optModelPath(<this directory>)\n"
                        + "engine=PyTorch\n"
                        + "blockFactory=" + TestModelBlockFactory.class.getName() + '\n'
                        + "architecture=" + model.id() + '\n'
                        + "option.modelName=" + model.id() + '\n';
        Files.writeString(dir.resolve("serving.properties"), serving, StandardCharsets.UTF_8);
        return dir.resolve(model.id() + "-0000.params");
    }

    private static double round6(double v) {
        return Math.round(v * 1e6) / 1e6;
    }

    private static FashionMnistIdx dataset(
            NDManager manager, Path dir, FashionMnistIdx.Split split, Settings s, boolean shuffle)
            throws IOException, TranslateException {
        FashionMnistIdx ds =
                FashionMnistIdx.builder()
                        .setManager(manager)
                        .optDirectory(dir)
                        .setSplit(split)
                        .setSampling(s.batchSize(), shuffle)
                        .build();
        ds.prepare();
        return ds;
    }

    private static void write(
            TestModel model,
            Settings settings,
            Model m,
            Path dir,
            double accuracy,
            double subsetAccuracy,
            long testSamples,
            double seconds)
            throws IOException {
        Path params = saveModel(model, m, dir);
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("model", model.id());
        provenance.put("architecture", model.newBlock().getClass().getName());
        provenance.put("trainer", TestModelTrainer.class.getName());
        provenance.put("seed", settings.seed());
        provenance.put("epochs", settings.epochs());
        provenance.put("batch_size", settings.batchSize());
        provenance.put("optimizer", String.format(java.util.Locale.ROOT,
                "adam, cosine learning rate %.4g -> %.4g", settings.learningRate(),
                settings.learningRate() * 0.05f));
        provenance.put("train_samples", 60000);
        provenance.put("float_accuracy", round4(accuracy));
        provenance.put("float_accuracy_samples", testSamples);
        provenance.put("float_accuracy_bundled_subset", round4(subsetAccuracy));
        provenance.put("parameters", m.getBlock().getParameters().stream()
                .mapToLong(p -> p.getValue().getArray().size()).sum());
        provenance.put("params_file", params.getFileName().toString());
        provenance.put("params_sha256", Checksums.sha256(params));
        provenance.put("train_seconds", Math.round(seconds));
        provenance.put("trained_at", Instant.now().toString());
        Files.writeString(
                dir.resolve("provenance.json"),
                new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(provenance) + '\n',
                StandardCharsets.UTF_8);
    }

    private static double round4(double v) {
        return Math.round(v * 10000) / 10000.0;
    }
}
