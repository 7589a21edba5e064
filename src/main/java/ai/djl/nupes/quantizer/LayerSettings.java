package ai.djl.nupes.quantizer;

import java.util.Objects;

/**
 * Everything that decides how one layer is quantized: its weight quantizer (bits, grid,
 * granularities) and the bit width of its inputs. Assembled once per layer by the layer selector
 * from the config's defaults and the selector's rules, and read from there by every stage.
 *
 * @param weights the weight quantizer
 * @param activationBits input bits, 2..8, or 32 for float inputs
 * @param table whether the layer is a weight table (an embedding looked up by row): quantized
 *     data-free, its inputs never quantized
 */
public record LayerSettings(QuantizerSpec weights, int activationBits, boolean table) {

    /** Float inputs. */
    public static final int FLOAT_INPUTS = 32;

    /** Validates the fields. */
    public LayerSettings {
        Objects.requireNonNull(weights, "weights");
        if (activationBits != FLOAT_INPUTS) {
            QuantizerSpec.checkBits(activationBits);
        }
        if (table && activationBits != FLOAT_INPUTS) {
            throw new IllegalArgumentException("a weight table's inputs are row indices and cannot be quantized");
        }
    }

    /**
     * Settings of a Linear or convolution layer.
     *
     * @param weights the weight quantizer
     * @param activationBits input bits, 2..8, or 32 for float inputs
     */
    public LayerSettings(QuantizerSpec weights, int activationBits) {
        this(weights, activationBits, false);
    }

    /**
     * Weights-only settings.
     *
     * @param weights the weight quantizer
     * @return the settings, with float inputs
     */
    public static LayerSettings weightsOnly(QuantizerSpec weights) {
        return new LayerSettings(weights, FLOAT_INPUTS);
    }

    /**
     * Whether the layer's inputs are quantized.
     *
     * @return true for activation bits below 32
     */
    public boolean quantizesInputs() {
        return activationBits != FLOAT_INPUTS;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return weights + (quantizesInputs() ? " A" + activationBits : "");
    }
}
