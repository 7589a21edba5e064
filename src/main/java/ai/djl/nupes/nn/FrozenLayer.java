package ai.djl.nupes.nn;

import ai.djl.nn.Block;

/**
 * A block that holds a layer's weights as packed integer codes, per-channel scales, exponent(s) and
 * a float bias, and decodes them for the layer's own forward. Training-only state is gone.
 */
public interface FrozenLayer extends Block {

    /**
     * Returns the frozen state.
     *
     * @return the state
     */
    FrozenWeights getFrozenWeights();
}
