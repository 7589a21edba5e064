package ai.djl.nupes.quantizer;

import ai.djl.ndarray.NDArray;
import ai.djl.nupes.autograd.Scalars;

/**
 * The power quantizer as differentiable NDArray operations, for calibration.
 *
 * <p>Numerical safety (the derivative {@code d|x|^a/da = |x|^a·ln|x|} is unbounded near 0 and the
 * inverse power {@code (|c|/D)^(1/a)} has {@code ln 0} at code 0):
 *
 * <ul>
 *   <li>magnitudes are normalised by the channel maximum, {@code r = |w|/m ≤ 1}, and floored at
 *       {@link #LOG_FLOOR} before the logarithm: {@code r^a = exp(a·ln max(r, 1e-6))}, so {@code
 *       |ln r| ≤ 13.8} and every gradient is finite;
 *   <li>the inverse power is taken the same way and multiplied by a mask that is exactly 0 for code
 *       0, so the value is exact and the gradient finite;
 *   <li>the exponent is clipped to {@link ExponentRange} inside the graph (the optimizer also
 *       projects it back after each step).
 * </ul>
 *
 * <p>Every number enters the graph through {@link Scalars}: autograd keeps the scalar of a product
 * or quotient for the backward pass, and the engine's own {@code mul(Number)} frees it at once.
 */
public final class PowerQuantizerOps {

    /** Floor of a normalised magnitude before its logarithm. */
    public static final float LOG_FLOOR = 1e-6f;

    private PowerQuantizerOps() {}

    /**
     * Rounds with a straight-through gradient: the value of {@code round(x)}, the gradient of x.
     *
     * @param x the input
     * @return the rounded input
     */
    public static NDArray steRound(NDArray x) {
        return x.add(x.round().sub(x).stopGradient());
    }

    /**
     * Signed normalised power {@code x = sign(w)·(clip(|w|/m, 0, 1))^a}, computed in the log domain.
     *
     * @param w weights
     * @param max channel maxima m, broadcastable to w, positive
     * @param exponent a, broadcastable to w
     * @return x in [-1, 1]
     */
    public static NDArray signedPower(NDArray w, NDArray max, NDArray exponent) {
        NDArray r = w.abs().div(max).clip(LOG_FLOOR, 1f);
        NDArray a = exponent.clip(ExponentRange.MIN, ExponentRange.MAX);
        return r.log().mul(a).exp().mul(w.sign());
    }

    /**
     * Integer code of a continuous code index with a straight-through gradient: on the symmetric
     * grid {@code clip(round(u), -Q, Q)}; on the half-integer grid the odd code {@code 2·clip(floor
     * (u + 1/2), -2^(b-1), Q) + 1}.
     *
     * @param continuousIndex u (see {@link Grid#continuousIndex})
     * @param spec bits and grid
     * @return the integer code c (value exact, gradient of u or 2u)
     */
    public static NDArray steCode(NDArray continuousIndex, QuantizerSpec spec) {
        NDArray index = steRound(continuousIndex).clip(spec.minCode(), spec.maxCode());
        return spec.getGrid() == Grid.SYMMETRIC ? index : Scalars.mul(index, 2f).add(1);
    }

    /**
     * Decodes integer codes: {@code sign(c)·m·(|c|/D)^(1/a)}, exactly 0 for code 0.
     *
     * @param code integer codes (may carry a straight-through gradient)
     * @param max channel maxima m
     * @param exponent a
     * @param spec bits and grid
     * @return decoded weights
     */
    public static NDArray decode(NDArray code, NDArray max, NDArray exponent, QuantizerSpec spec) {
        NDArray magnitude = Scalars.div(code.abs(), spec.getGrid().denominator(spec.getBits()));
        NDArray nonZero = magnitude.gt(0f).toType(magnitude.getDataType(), false);
        NDArray a = exponent.clip(ExponentRange.MIN, ExponentRange.MAX);
        // (|c|/D)^(1/a) = exp(ln(max(|c|/D, floor)) / a), masked to 0 at code 0
        NDArray level = Scalars.maximum(magnitude, LOG_FLOOR).log().div(a).exp().mul(nonZero);
        return level.mul(max).mul(code.sign());
    }

    /**
     * Fake quantization with gradients to the latent weights, the exponent and the maximum.
     *
     * <p>Value: exactly {@code decode(encode(V))}. Gradients (our design):
     *
     * <ul>
     *   <li>latent weights V: straight through, identity inside {@code [-m, m]} and zero outside, so
     *       a weight can drift across any number of grid levels;
     *   <li>exponent a and maximum m: through the whole encode → round → decode path, the rounding
     *       passed straight through and V held fixed. Like a learned step size, this gradient only
     *       sees the rounding residual: where {@code decode(encode(w))} would reproduce w exactly
     *       it vanishes. The encode's {@code ∂(r^a)/∂a = r^a·ln r} is bounded because {@code r =
     *       |w|/m} is floored at {@link #LOG_FLOOR}; the decode's {@code ln(|c|/D)} is floored and
     *       masked at code 0.
     * </ul>
     *
     * <p>Differentiating the decode alone, with the codes held fixed, is cheaper but blind to the
     * rounding residual: it fits the levels to the codes already chosen.
     *
     * @param latent latent weights V
     * @param max channel maxima m, broadcastable to V
     * @param exponent a, broadcastable to V
     * @param spec bits and grid
     * @return the fake-quantized weights
     */
    public static NDArray fakeQuantize(
            NDArray latent, NDArray max, NDArray exponent, QuantizerSpec spec) {
        NDArray x = signedPower(latent.stopGradient(), max, exponent);
        NDArray quantized = decode(steCode(continuousIndex(x, spec), spec), max, exponent, spec);
        NDArray m = max.stopGradient();
        NDArray clipped = latent.minimum(m).maximum(m.neg());
        return quantized.add(clipped.sub(clipped.stopGradient()));
    }

    /**
     * Fake-quantizes layer inputs on a power grid that shares the layer's exponent: {@code x̂ =
     * sign(x)·s·(|c|/D)^(1/a)}, {@code |c| = round(D·(|x|/s)^a)} clipped to D, with {@code D =
     * 2^(b-1) - 1} (signed grid, with zero) or {@code D = 2^b - 1} (unsigned grid for non-negative
     * inputs, negatives clipped to 0). The inputs get no gradient; the exponent gets the same
     * straight-through gradient as in {@link #fakeQuantize}, so it is learned jointly for weights
     * and inputs.
     *
     * @param x the inputs
     * @param scale the input range s (positive)
     * @param exponent the layer's exponent, one value
     * @param bits the input bit width
     * @param unsigned whether the unsigned grid is used
     * @return the fake-quantized inputs
     */
    public static NDArray fakeQuantizeInput(
            NDArray x, float scale, NDArray exponent, int bits, boolean unsigned) {
        int d = inputDenominator(bits, unsigned);
        NDArray frozen = unsigned ? Scalars.maximum(x.stopGradient(), 0f) : x.stopGradient();
        NDArray a = exponent.reshape(1).clip(ExponentRange.MIN, ExponentRange.MAX);
        NDArray magnitude = Scalars.div(steRound(continuousInputMagnitude(frozen, scale, a, d)), d);
        NDArray nonZero = magnitude.gt(0f).toType(magnitude.getDataType(), false);
        NDArray level = Scalars.mul(Scalars.maximum(magnitude, LOG_FLOOR).log().div(a).exp().mul(nonZero), scale);
        // sign(x) is 0 at x = 0 on both grids: the floored magnitude would otherwise round a zero
        // input (ReLU output) to a nonzero code once D·(1e-6)^a ≥ 1/2, i.e. a ≲ 0.45 at 8 bits
        return level.mul(frozen.sign());
    }

    /**
     * The integer input codes of {@link #fakeQuantizeInput}, computed with the same operations so
     * the two agree code for code: {@code c = sign(x)·round(D·clip(|x|/s, 1e-6, 1)^a)} (negatives
     * clipped to 0 on the unsigned grid; 0 for a zero input). No gradient.
     *
     * @param x the inputs
     * @param scale the input range s (positive)
     * @param exponent the layer's exponent, one value
     * @param bits the input bit width
     * @param unsigned whether the unsigned grid is used
     * @return the codes, as whole numbers in x's data type, in {@code [-D, D]} or {@code [0, D]}
     */
    public static NDArray inputCodes(NDArray x, float scale, NDArray exponent, int bits, boolean unsigned) {
        int d = inputDenominator(bits, unsigned);
        NDArray frozen = unsigned ? Scalars.maximum(x.stopGradient(), 0f) : x.stopGradient();
        NDArray a = exponent.reshape(1).clip(ExponentRange.MIN, ExponentRange.MAX);
        NDArray magnitude = continuousInputMagnitude(frozen, scale, a, d).round();
        return magnitude.mul(frozen.sign());
    }

    /**
     * The input code denominator D: {@code 2^b - 1} on the unsigned grid, {@code 2^(b-1) - 1} on
     * the signed one.
     *
     * @param bits the input bit width
     * @param unsigned whether the grid is unsigned
     * @return D
     */
    public static int inputDenominator(int bits, boolean unsigned) {
        return unsigned ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
    }

    /** {@code D·clip(|x|/s, 1e-6, 1)^a}, in the log domain, before rounding. */
    private static NDArray continuousInputMagnitude(NDArray x, float scale, NDArray a, int d) {
        NDArray r = Scalars.div(x.abs(), scale).clip(LOG_FLOOR, 1f);
        return Scalars.mul(r.log().mul(a).exp(), d);
    }

    /**
     * The continuous code index of signed normalised values, as {@link Grid#continuousIndex}.
     *
     * @param x values in [-1, 1]
     * @param spec bits and grid
     * @return the continuous indices
     */
    public static NDArray continuousIndex(NDArray x, QuantizerSpec spec) {
        int d = spec.getGrid().denominator(spec.getBits());
        return spec.getGrid() == Grid.SYMMETRIC ? Scalars.mul(x, d) : Scalars.div(Scalars.mul(x, d).sub(1), 2f);
    }
}
