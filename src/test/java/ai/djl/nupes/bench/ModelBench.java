package ai.djl.nupes.bench;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.calibrate.CalibrationSettings;
import ai.djl.nupes.calibrate.GptqTarget;
import ai.djl.nupes.calibrate.LatentStart;
import ai.djl.nupes.calibrate.ReconstructionUnit;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Measures one test model: its float accuracy once, then any (method, bits) pair, each quantized
 * from the float model and restored afterwards.
 */
public final class ModelBench implements AutoCloseable {

    private static final Logger logger = LogManager.getLogger(ModelBench.class);

    private final TestModel testModel;
    private final ZooModel<NDList, NDList> model;
    private final NDManager manager;
    private final FashionMnistIdx testSet;
    private final double floatAccuracy;

    /**
     * Loads the model and its evaluation data and measures float accuracy.
     *
     * @param testModel the model
     * @param dataDirectory the Fashion-MNIST directory to evaluate on (its test split)
     * @throws IOException when the model or the data is missing
     * @throws TranslateException when the data cannot be prepared
     */
    public ModelBench(TestModel testModel, Path dataDirectory) throws IOException, TranslateException {
        this.testModel = testModel;
        this.model = TestModels.load(testModel);
        this.manager = model.getNDManager().newSubManager();
        this.testSet =
                FashionMnistIdx.prepared(
                        manager, dataDirectory, FashionMnistIdx.Split.TEST, Evaluation.BATCH_SIZE);
        this.floatAccuracy = Evaluation.accuracy(model.getBlock(), testSet, manager);
        logger.info(
                "{}: float accuracy {} on {} images from {}",
                testModel.id(),
                String.format("%.4f", floatAccuracy),
                testSet.size(),
                dataDirectory);
    }

    /**
     * Returns the float row.
     *
     * @return the row for the float model
     */
    public AccuracyRow floatRow() {
        return new AccuracyRow(testModel.id(), "float", 32, 32, floatAccuracy, floatAccuracy, testSet.size(), 0);
    }

    /**
     * Quantizes with a method and bit width, evaluates and restores the float model.
     *
     * @param config the quantization config
     * @return the row
     */
    public AccuracyRow run(NupesConfig config) {
        return run(config, null);
    }

    /**
     * Quantizes, evaluates, lets the caller use the quantized model, then restores the float model.
     *
     * @param config the quantization config
     * @param whileQuantized called with the quantized model and its row before the float model is
     *     restored (null for none)
     * @return the row
     */
    public AccuracyRow run(NupesConfig config, java.util.function.BiConsumer<QuantizedModel, AccuracyRow> whileQuantized) {
        QuantizedModel q = Nupes.quantize(model, config);
        try {
            double accuracy = Evaluation.accuracy(model.getBlock(), testSet, manager);
            AccuracyRow row =
                    new AccuracyRow(
                            testModel.id(),
                            label(config.getMethod(), config.getCalibrationSettings()),
                            config.getBits(),
                            config.getActivationBits(),
                            accuracy,
                            floatAccuracy,
                            testSet.size(),
                            q.getReport().seconds());
            logger.info(
                    "{} {} W{}A{}: accuracy {} (float {}), quantized in {} s",
                    testModel.id(),
                    config.getMethod(),
                    config.getBits(),
                    config.getActivationBits(),
                    String.format("%.4f", accuracy),
                    String.format("%.4f", floatAccuracy),
                    String.format("%.2f", q.getReport().seconds()));
            if (whileQuantized != null) {
                whileQuantized.accept(q, row);
            }
            return row;
        } finally {
            q.restoreFloat();
        }
    }

    /**
     * A row's method label: the method's id, with "+gptq-start" when NUPES's latent weights start
     * at gptq-power and "+stage" when the method reconstructs stage by stage.
     *
     * @param method the method
     * @param start where its latent weights start
     * @param unit what one reconstruction learns
     * @return the label
     */
    public static String label(Method method, LatentStart start, ReconstructionUnit unit) {
        return method.id() + (start.appliesTo(method) ? "+gptq-start" : "") + (unit.appliesTo(method) ? "+stage" : "");
    }

    /**
     * A row's method label from a config's calibration settings.
     *
     * @param method the method
     * @param settings its calibration settings
     * @return the label
     */
    public static String label(Method method, CalibrationSettings settings) {
        boolean outputs = settings.gptqTarget() == GptqTarget.FLOAT_OUTPUTS;
        String gptq = outputs ? "output-gptq" : "gptq";
        return method.id() + (method.isGptq() && outputs ? "+float-outputs" : "")
                + (settings.latentStart().appliesTo(method) ? "+" + gptq + "-start" : "")
                + (settings.unit().appliesTo(method) ? "+stage" : "")
                + (settings.finalRounding().appliesTo(method) ? "+" + gptq + "-rounding" : "");
    }

    /**
     * Shorthand for a plain config.
     *
     * @param method the method
     * @param bits the weight bits
     * @return the row
     */
    public AccuracyRow run(Method method, int bits) {
        NupesConfig.Builder b = NupesConfig.builder().optMethod(method).setBits(bits);
        if (method.needsCalibrationData()) {
            try {
                b.optCalibrationData(FashionMnistIdx.bundledCalibration());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return run(b.build());
    }

    /**
     * Returns the test set used for evaluation.
     *
     * @return the dataset
     */
    public FashionMnistIdx getTestSet() {
        return testSet;
    }

    /**
     * Returns the loaded model.
     *
     * @return the model
     */
    public ZooModel<NDList, NDList> getModel() {
        return model;
    }

    /**
     * Returns the float accuracy.
     *
     * @return the accuracy
     */
    public double getFloatAccuracy() {
        return floatAccuracy;
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        manager.close();
        model.close();
    }
}
