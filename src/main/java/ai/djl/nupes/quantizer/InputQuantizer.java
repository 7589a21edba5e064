package ai.djl.nupes.quantizer;

import ai.djl.ndarray.NDArray;

/**
 * Quantizes a layer's inputs on a power grid that shares the layer's weight exponent, so that the
 * layer can run integer-only ({@code ai.djl.nupes.integer}). Ranges are estimated by {@link
 * InputRange}.
 *
 * @param bits input bit width, 2..8
 * @param scale the input range s
 * @param unsigned whether inputs are non-negative (unsigned grid, 2^b - 1 levels above zero)
 */
public record InputQuantizer(int bits, float scale, boolean unsigned) {

    /** Validates the fields. */
    public InputQuantizer {
        QuantizerSpec.checkBits(bits);
        if (!(scale > 0f) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("input scale must be finite and positive, got " + scale);
        }
    }

    /**
     * An input quantizer for an estimated range (a zero range becomes the smallest positive
     * float, so all-zero inputs stay zero).
     *
     * @param bits input bits
     * @param range the estimated range
     * @return the quantizer
     */
    public static InputQuantizer of(int bits, InputRange range) {
        return new InputQuantizer(bits, Math.max(range.scale(), Float.MIN_NORMAL), range.isUnsigned());
    }

    /**
     * Fake-quantizes inputs with the layer's exponent.
     *
     * @param x the inputs
     * @param exponent the exponent, one value (may carry a gradient)
     * @return the quantized inputs
     */
    public NDArray apply(NDArray x, NDArray exponent) {
        return PowerQuantizerOps.fakeQuantizeInput(x, scale, exponent, bits, unsigned);
    }

    /**
     * The integer codes of the inputs, code for code those behind {@link #apply}: {@code c =
     * sign(x)·round(D·min(|x|/s, 1)^a)}.
     *
     * @param x the inputs
     * @param exponent the exponent, one value
     * @return whole-number codes in x's data type
     */
    public NDArray codes(NDArray x, NDArray exponent) {
        return PowerQuantizerOps.inputCodes(x, scale, exponent, bits, unsigned);
    }

    /**
     * The integer code denominator D: {@code 2^(b-1) - 1} signed, {@code 2^b - 1} unsigned.
     *
     * @return D
     */
    public int denominator() {
        return PowerQuantizerOps.inputDenominator(bits, unsigned);
    }
}
