package ai.djl.nupes;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.calibrate.CalibrationData;
import ai.djl.nupes.calibrate.DataFreeCalibration;
import ai.djl.nupes.calibrate.InputCalibration;
import ai.djl.nupes.calibrate.LayerwiseCalibration;
import ai.djl.nupes.calibrate.ModelFit;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.transform.BlockTransformer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
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
 *
 * <p>It may be called from any thread, and on two models from two threads at once (their gradient
 * steps take turns: DJL's PyTorch engine collects gradients for one caller at a time).
 */
public final class Nupes {

    private static final Logger logger = LoggerFactory.getLogger(Nupes.class);

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
     * @throws IllegalArgumentException when the model has no layer to quantize, or the calibration
     *     data does not fit the model or holds a non-finite value (naming the layer or the sample)
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
        BlockTransformer.Result wrapped =
                BlockTransformer.wrap(original, config.getSelector(), config.getLayerDefaults());
        model.setBlock(wrapped.root());
        try {
            List<QuantizedLayer> layers = wrapped.layers();
            if (layers.isEmpty()) {
                throw new IllegalArgumentException(
                        "model '" + model.getName() + "' has no layer to quantize: no Linear or convolution"
                                + " layer" + (BlockTransformer.candidates(original).isEmpty() ? "" : " passed the selector")
                                + "; its blocks are " + wrapped.leftAsIs());
            }
            List<LayerReport> reports;
            int samples = 0;
            String dataHash = null;
            if (config.needsCalibrationData()) {
                try (NDManager work = model.getNDManager().newSubManager();
                        CalibrationData data = calibrationData(config, work)) {
                    ModelFit.check(model.getName(), wrapped.root(), layers, data, work);
                    samples = data.size();
                    dataHash = data.sha256();
                    if (config.getMethod().needsCalibrationData()) {
                        reports =
                                new LayerwiseCalibration(config.getCalibrationSettings(), config.getInputEstimator())
                                        .run(wrapped.root(), layers, data, config.getMethod(), work);
                    } else {
                        reports = DataFreeCalibration.apply(layers, config.getMethod());
                        InputCalibration.apply(wrapped.root(), layers, data, config.getInputEstimator(), work);
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
        CalibrationData data;
        if (config.getCalibrationBatches() != null) {
            data = CalibrationData.of(config.getCalibrationBatches(), samples, manager);
        } else {
            try {
                data = CalibrationData.of(config.getCalibrationDataset(), samples, manager);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read calibration data: " + e.getMessage(), e);
            }
        }
        if (config.getPaddingMaskInput() >= 0) {
            try {
                data.withPaddingMask(config.getPaddingMaskInput());
            } catch (RuntimeException e) {
                data.close();
                throw e;
            }
        }
        return data;
    }
}
