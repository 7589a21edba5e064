package ai.djl.nupes.nn;

import ai.djl.nn.Block;

/**
 * A block that wraps one float layer (Linear, Conv1d, Conv2d) with a power-exponent weight
 * quantizer. The float layer and its parameters stay inside, untouched; the wrapper only decides
 * which weights the layer's forward sees.
 */
public interface QuantizedLayer extends Block {

    /**
     * Returns the quantization state of this layer.
     *
     * @return the layer quantizer
     */
    LayerQuantizer getQuantizer();

    /**
     * Returns the wrapped float layer.
     *
     * @return the float layer
     */
    default Block getFloatLayer() {
        return getQuantizer().getFloatLayer();
    }

    /**
     * Returns the layer's path in the block tree, e.g. {@code 02SequentialBlock/01Conv2d}.
     *
     * @return the path
     */
    default String getPath() {
        return getQuantizer().getPath();
    }
}
