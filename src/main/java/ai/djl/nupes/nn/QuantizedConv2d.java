package ai.djl.nupes.nn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.io.DataInputStream;
import java.io.DataOutputStream;

/**
 * A {@link Conv2d} whose weights go through a power-exponent quantizer. Like {@link
 * QuantizedLinear}, it owns no parameters: the float {@code Conv2d} is its only child.
 */
public final class QuantizedConv2d extends Conv2d implements QuantizedLayer {

    private final LayerQuantizer quantizer;

    /**
     * Wraps an initialized float layer.
     *
     * @param path the layer's path in the block tree
     * @param floatLayer the float layer
     * @param settings the layer's quantization settings
     */
    public QuantizedConv2d(String path, Conv2d floatLayer, LayerSettings settings) {
        super(
                Conv2d.builder()
                        .setKernelShape(floatLayer.getKernelShape())
                        .setFilters(floatLayer.getFilters())
                        .optStride(floatLayer.getStride())
                        .optPadding(floatLayer.getPadding())
                        .optDilation(floatLayer.getDilation())
                        .optGroups(floatLayer.getGroups())
                        .optBias(floatLayer.isIncludeBias()));
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
    protected void prepare(Shape[] inputs) {}

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
