package ai.djl.nupes;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.calibrate.CalibrationData;
import ai.djl.nupes.calibrate.DataFreeCalibration;
import ai.djl.nupes.calibrate.InputCalibration;
import ai.djl.nupes.calibrate.LayerwiseCalibration;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.transform.BlockTransformer;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Objects;

/**
 * The entry point: {@code Nupes.quantize(model, config)}.
 *
 * <pre>{@code
 * try (ZooModel<NDList, NDList> model = criteria.loadModel()) {
 *     QuantizedModel q = Nupes.quantize(model, NupesConfig.builder().setBits(4).build());
 *     System.out.println(q.getReport().toMarkdown());
 * }
 * }</pre>
 */
public final class Nupes {

    private static final Logger logger = LogManager.getLogger(Nupes.class);

    private Nupes() {}

    /**
     * Quantizes a model's Linear and convolution layers in place.
     *
     * <p>The float weights are never modified: the wrappers hold them. On any failure, or when the
     * thread is interrupted during calibration ({@link java.util.concurrent.CancellationException}),
     * the model's block tree is restored before the exception propagates, so the caller's float model
     * is left as it was.
     *
     * @param model a loaded (initialized) model
     * @param config what to do
     * @return the quantized model and the report
     */
    public static QuantizedModel quantize(Model model, NupesConfig config) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(config, "config");
        Block original = model.getBlock();
        if (original == null || !original.isInitialized()) {
            throw new IllegalArgumentException(
                    "model '" + model.getName() + "' has no initialized block; load it first");
        }
        long start = System.nanoTime();
        BlockTransformer.Result wrapped = BlockTransformer.wrap(original, config.getSelector());
        model.setBlock(wrapped.root());
        try {
            List<QuantizedLayer> layers = wrapped.layers();
            for (QuantizedLayer l : layers) {
                QuantizerSpec spec = l.getQuantizer().getSpec();
                Grid grid = config.getGrid() != null ? config.getGrid() : NupesConfig.defaultGrid(spec.getBits());
                l.getQuantizer().setSpec(spec.withGrid(grid));
            }
            List<LayerReport> reports;
            int samples = 0;
            String dataHash = null;
            boolean quantizedInputs = config.getActivationBits() < 32;
            if (config.getMethod().needsCalibrationData() || quantizedInputs) {
                try (NDManager work = model.getNDManager().newSubManager();
                        CalibrationData data = calibrationData(config, work)) {
                    samples = data.size();
                    dataHash = data.sha256();
                    if (config.getMethod().needsCalibrationData()) {
                        reports =
                                new LayerwiseCalibration(
                                                config.getCalibrationSettings(),
                                                config.getActivationBits(),
                                                config.getInputEstimator())
                                        .run(wrapped.root(), layers, data, config.getMethod(), work);
                    } else {
                        reports = DataFreeCalibration.apply(layers, config.getMethod());
                        InputCalibration.apply(
                                wrapped.root(),
                                layers,
                                data,
                                config.getActivationBits(),
                                config.getInputEstimator(),
                                work);
                    }
                }
            } else {
                reports = DataFreeCalibration.apply(layers, config.getMethod());
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            QuantizationReport report =
                    new QuantizationReport(
                            config.getMethod(),
                            reports,
                            wrapped.leftAsIs(),
                            samples,
                            dataHash,
                            config.getSeed(),
                            seconds);
            logger.info(
                    "quantized {} layer(s) of '{}' with {} in {} s",
                    layers.size(),
                    model.getName(),
                    config.getMethod(),
                    String.format("%.2f", seconds));
            return new QuantizedModel(model, layers, report);
        } catch (RuntimeException | Error e) {
            model.setBlock(BlockTransformer.unwrap(wrapped.root()));
            throw e;
        }
    }

    private static CalibrationData calibrationData(NupesConfig config, NDManager manager) {
        int samples = config.getCalibrationSamples();
        if (config.getCalibrationBatches() != null) {
            return CalibrationData.of(config.getCalibrationBatches(), samples, manager);
        }
        try {
            if (config.getCalibrationDataset() != null) {
                return CalibrationData.of(config.getCalibrationDataset(), samples, manager);
            }
            if (!Files.isRegularFile(
                    FashionMnistIdx.BUNDLED_DIRECTORY.resolve(FashionMnistIdx.Split.TRAIN.imageFile()))) {
                throw new IllegalArgumentException(
                        "method " + config.getMethod() + " needs calibration data: pass"
                                + " NupesConfig.builder().optCalibrationData(...)");
            }
            logger.info(
                    "no calibration data given: using the bundled Fashion-MNIST training subset in {}",
                    FashionMnistIdx.BUNDLED_DIRECTORY);
            FashionMnistIdx bundled =
                    FashionMnistIdx.prepared(
                            manager,
                            FashionMnistIdx.BUNDLED_DIRECTORY,
                            FashionMnistIdx.Split.TRAIN,
                            config.getCalibrationSettings().batchSize());
            return CalibrationData.of(bundled, samples, manager);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read calibration data: " + e.getMessage(), e);
        }
    }
}
