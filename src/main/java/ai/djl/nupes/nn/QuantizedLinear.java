package ai.djl.nupes.nn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.io.DataInputStream;
import java.io.DataOutputStream;

/**
 * A {@link Linear} whose weights go through a power-exponent quantizer.
 *
 * <p>It is a {@code Linear} so that it can take the place of one held in a typed field (as DJL's
 * attention block holds its projections). It owns no parameters of its own: the wrapped float
 * {@code Linear} is its only child and keeps its weight and bias.
 */
public final class QuantizedLinear extends Linear implements QuantizedLayer {

    private final LayerQuantizer quantizer;

    /**
     * Wraps an initialized float layer.
     *
     * @param path the layer's path in the block tree
     * @param floatLayer the float layer
     * @param settings the layer's quantization settings
     */
    public QuantizedLinear(String path, Linear floatLayer, LayerSettings settings) {
        super(
                Linear.builder()
                        .setUnits(floatLayer.getParameters().get("weight").getArray().getShape().get(0))
                        .optBias(floatLayer.getParameters().get("bias") != null));
        parameters.clear(); // the float layer keeps the parameters
        addChildBlock("layer", floatLayer);
        this.quantizer = new LayerQuantizer(path, floatLayer, settings);
    }

    /** {@inheritDoc} */
    @Override
    public LayerQuantizer getQuantizer() {
        return quantizer;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return quantizer.forward(ps, inputs, training, params);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        return quantizer.getFloatLayer().getOutputShapes(inputs);
    }

    /** {@inheritDoc} */
    @Override
    public PairList<String, Shape> describeInput() {
        return quantizer.getFloatLayer().describeInput();
    }

    /** {@inheritDoc} */
    @Override
    protected void beforeInitialize(Shape... inputShapes) {
        this.inputShapes = inputShapes; // the float layer holds the real state
    }

    /** {@inheritDoc} */
    @Override
    public void prepare(Shape[] inputShapes) {}

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Wrappers.initializeFloatLayer(quantizer, manager, dataType, inputShapes);
    }

    /** {@inheritDoc} */
    @Override
    protected void saveMetadata(DataOutputStream os) {}

    /** {@inheritDoc} */
    @Override
    public void loadMetadata(byte loadVersion, DataInputStream is) {}

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return Wrappers.describe(this);
    }
}
