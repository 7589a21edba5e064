package ai.djl.nupes.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nupes.quantizer.InputRange;
import ai.djl.nupes.quantizer.PowerQuantizerOps;
import ai.djl.nupes.quantizer.QuantizerSpec;

/**
 * Quantizes a layer's inputs on a power grid that shares the layer's weight exponent, so that the
 * layer can run integer-only ({@code ai.djl.nupes.integer}).
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
     * The integer code denominator D: {@code 2^(b-1) - 1} signed, {@code 2^b - 1} unsigned.
     *
     * @return D
     */
    public int denominator() {
        return unsigned ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
    }
}
