package ai.djl.nupes.nn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A quantized wrapper for any layer with a {@code weight} parameter whose class cannot be
 * subclassed from outside DJL (such as {@code Conv1d}). It holds the float layer as its only child;
 * a parent that keeps that layer in a field of the layer's own type cannot take it, and the block
 * transformer says so.
 */
public final class QuantizedWeightBlock extends AbstractBlock implements QuantizedLayer {

    private static final byte VERSION = 1;

    private final LayerQuantizer quantizer;

    /**
     * Wraps an initialized float layer.
     *
     * @param path the layer's path in the block tree
     * @param floatLayer the float layer, holding a parameter named {@code weight}
     * @param settings the layer's quantization settings
     */
    public QuantizedWeightBlock(String path, Block floatLayer, LayerSettings settings) {
        super(VERSION);
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
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Wrappers.initializeFloatLayer(quantizer, manager, dataType, inputShapes);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return Wrappers.describe(this);
    }
}
