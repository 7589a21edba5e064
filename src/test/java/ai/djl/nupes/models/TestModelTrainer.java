package ai.djl.nupes.models;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.format.Checksums;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
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
import java.util.Map;

/**
 * Trains a test model on the full Fashion-MNIST training set and writes its directory: the
 * parameters, {@code serving.properties} naming {@link TestModelBlockFactory}, and {@code
 * provenance.json} (seed, epochs, optimizer, float accuracy on the full 10k test set and on the
 * bundled subset, parameter checksum).
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
        Files.createDirectories(dir);
        try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, "*.params")) {
            for (Path p : old) {
                Files.delete(p);
            }
        }
        m.setProperty("Epoch", "0");
        m.save(dir, model.id());
        Path params = dir.resolve(model.id() + "-0000.params");
        String serving =
                "# loads with Criteria.builder().optModelPath(<this directory>)\n"
                        + "engine=PyTorch\n"
                        + "blockFactory=" + TestModelBlockFactory.class.getName() + '\n'
                        + "architecture=" + model.id() + '\n'
                        + "option.modelName=" + model.id() + '\n';
        Files.writeString(dir.resolve("serving.properties"), serving, StandardCharsets.UTF_8);
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
