package ai.djl.nupes;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nupes.calibrate.DataFreeCalibration;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.transform.BlockTransformer;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

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
     * <p>On any failure the model's block tree is restored before the exception propagates, so the
     * caller's float model is left as it was.
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
        if (config.getMethod().needsCalibrationData()) {
            throw new UnsupportedOperationException(
                    "method " + config.getMethod() + " needs calibration data");
        }
        long start = System.nanoTime();
        BlockTransformer.Result wrapped = BlockTransformer.wrap(original, config.getSelector());
        model.setBlock(wrapped.root());
        try {
            List<QuantizedLayer> layers = wrapped.layers();
            List<LayerReport> reports = DataFreeCalibration.apply(layers, config.getMethod());
            double seconds = (System.nanoTime() - start) / 1e9;
            QuantizationReport report =
                    new QuantizationReport(
                            config.getMethod(), reports, wrapped.leftAsIs(), 0, config.getSeed(), seconds);
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
}
