package ai.djl.nupes.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.quantizer.LayerSettings;

/** What the three wrapper classes share: construction by layer type, initialization, naming. */
public final class Wrappers {

    private Wrappers() {}

    /**
     * Whether a block is a layer this project quantizes: one holding a {@code weight} parameter of at
     * least two axes whose first axis is the output channel (Linear, Conv1d, Conv2d, Conv3d).
     *
     * @param block the block
     * @return true when it can be wrapped
     */
    public static boolean isQuantizable(Block block) {
        return block instanceof Linear || block instanceof ai.djl.nn.convolutional.Convolution;
    }

    /**
     * Whether a block is a weight table: a leaf block other than a Linear or convolution holding a
     * {@code weight} parameter of at least two axes, first axis = row (a token or position
     * embedding). Rows play the part of output channels: one scale per row, or per group of a row.
     *
     * @param block the block
     * @return true for a weight table
     */
    public static boolean isTable(Block block) {
        if (isQuantizable(block) || !block.getChildren().isEmpty()) {
            return false;
        }
        ai.djl.nn.Parameter w = block.getParameters().get("weight");
        return w != null && w.isInitialized() && w.getArray().getShape().dimension() >= 2;
    }

    /**
     * Builds the wrapper that fits a float layer: a {@code Linear} or {@code Conv2d} subclass where
     * DJL allows one (so typed fields can hold it), a plain wrapper block otherwise.
     *
     * @param path the layer's path
     * @param floatLayer the float layer
     * @param settings the layer's quantization settings
     * @return the wrapper
     */
    public static QuantizedLayer wrap(String path, Block floatLayer, LayerSettings settings) {
        if (floatLayer instanceof QuantizedLayer) {
            throw new IllegalArgumentException("layer '" + path + "' is already quantized");
        }
        if (floatLayer.getClass() == Linear.class) {
            return new QuantizedLinear(path, (Linear) floatLayer, settings);
        }
        if (floatLayer.getClass() == Conv2d.class) {
            return new QuantizedConv2d(path, (Conv2d) floatLayer, settings);
        }
        if (isQuantizable(floatLayer) || isTable(floatLayer)) {
            return new QuantizedWeightBlock(path, floatLayer, settings);
        }
        throw new IllegalArgumentException(
                "layer '" + path + "' (" + floatLayer.getClass().getName()
                        + ") is not a Linear or convolution layer");
    }

    static void initializeFloatLayer(
            LayerQuantizer quantizer, NDManager manager, DataType dataType, Shape... inputShapes) {
        Block layer = quantizer.getFloatLayer();
        if (!layer.isInitialized()) {
            layer.initialize(manager, dataType, inputShapes);
        }
    }

    static String describe(QuantizedLayer layer) {
        return layer.getClass().getSimpleName() + '(' + layer.getQuantizer() + ")\n\t"
                + layer.getFloatLayer();
    }
}
