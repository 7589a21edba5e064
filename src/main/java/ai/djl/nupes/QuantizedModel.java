package ai.djl.nupes;

import ai.djl.Model;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.transform.BlockTransformer;

import java.util.List;

/**
 * The outcome of {@link Nupes#quantize}: the caller's model, whose Linear and convolution layers
 * now run on quantized weights, with the report.
 *
 * <p>The float weights stay inside the wrappers, untouched: {@link #setQuantizationEnabled(false)}
 * gives the float model's exact outputs back, and {@link #restoreFloat()} removes the wrappers.
 */
public final class QuantizedModel {

    private final Model model;
    private final List<QuantizedLayer> layers;
    private final QuantizationReport report;

    QuantizedModel(Model model, List<QuantizedLayer> layers, QuantizationReport report) {
        this.model = model;
        this.layers = List.copyOf(layers);
        this.report = report;
    }

    /**
     * Returns the model (the caller's, with wrapped layers).
     *
     * @return the model
     */
    public Model getModel() {
        return model;
    }

    /**
     * Returns the wrapped layers in network order.
     *
     * @return the layers
     */
    public List<QuantizedLayer> getLayers() {
        return layers;
    }

    /**
     * Returns what quantization did.
     *
     * @return the report
     */
    public QuantizationReport getReport() {
        return report;
    }

    /**
     * Switches every wrapped layer between quantized and float weights.
     *
     * @param enabled true for quantized weights
     */
    public void setQuantizationEnabled(boolean enabled) {
        for (QuantizedLayer l : layers) {
            l.getQuantizer().setEnabled(enabled);
        }
    }

    /** Removes the wrappers: the model is the float model again. */
    public void restoreFloat() {
        model.setBlock(BlockTransformer.unwrap(model.getBlock()));
    }
}
