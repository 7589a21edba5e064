package ai.djl.nupes.quantizer;

import java.util.Objects;

/**
 * Everything that decides how one layer is quantized: its weight quantizer (bits, grid,
 * granularities) and the bit width of its inputs. Assembled once per layer by the layer selector
 * from the config's defaults and the selector's rules, and read from there by every stage.
 *
 * @param weights the weight quantizer
 * @param activationBits input bits, 2..8, or 32 for float inputs
 */
public record LayerSettings(QuantizerSpec weights, int activationBits) {

    /** Float inputs. */
    public static final int FLOAT_INPUTS = 32;

    /** Validates the fields. */
    public LayerSettings {
        Objects.requireNonNull(weights, "weights");
        if (activationBits != FLOAT_INPUTS) {
            QuantizerSpec.checkBits(activationBits);
        }
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
