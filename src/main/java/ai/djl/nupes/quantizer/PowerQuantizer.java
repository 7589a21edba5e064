package ai.djl.nupes.quantizer;

import java.util.Arrays;

/**
 * The power-exponent quantizer on plain Java arrays: the reference for every other code path.
 *
 * <p>For a channel with maximum {@code m = max|w|}, exponent {@code a} and {@code Q = 2^(b-1)-1}:
 *
 * <pre>
 *   q = clip(rint(sign(w) · Q · (|w|/m)^a), -Q, Q)          encode
 *   ŵ = sign(q) · m · (|q|/Q)^(1/a)                          decode
 * </pre>
 *
 * <p>Read as {@code T_a⁻¹ ∘ uniform ∘ T_a} with {@code T_a(w) = sign(w)·m·(|w|/m)^a}: uniform
 * round-to-nearest with step {@code s = m/Q} in the transformed domain. {@code T_1} is the identity,
 * so for {@code a = 1} the code evaluates the uniform expressions {@code q = rint(w/s)}, {@code ŵ =
 * q·s} directly in float, which makes {@code a = 1} bit-identical to symmetric uniform RTN. Other
 * exponents are evaluated in double and rounded to float once. Rounding is half-to-even ({@link
 * Math#rint}), which is symmetric in sign and matches the engine's {@code round}.
 *
 * <p>An all-zero channel ({@code m = 0}) decodes to exact zeros. {@link Grid} describes the two
 * grids; the formulas above are those of the default {@link Grid#SYMMETRIC} grid.
 */
public final class PowerQuantizer {

    private PowerQuantizer() {}

    /**
     * Quantizes a weight tensor whose first axis is the output channel.
     *
     * @param layerName the layer, named in errors
     * @param weights the float weights, row-major, first axis = output channel
     * @param shape the weight shape
     * @param spec bits and granularities
     * @param exponents one exponent (per-tensor) or one per output channel
     * @return the codes, maxima and exponents
     * @throws IllegalArgumentException for NaN/Inf weights, a shape mismatch or a bad exponent
     */
    public static QuantizedWeights quantize(
            String layerName, float[] weights, long[] shape, QuantizerSpec spec, float[] exponents) {
        int channels = checkShape(layerName, weights, shape);
        checkFinite(layerName, weights);
        float[] expPerChannel = expandExponents(layerName, exponents, channels, spec);
        float[] maxima = scaleMaxima(weights, channels, spec);
        int perChannel = weights.length / channels;
        int g = spec.groupLength(perChannel);
        int groups = spec.groupsPerChannel(perChannel);
        byte[] codes = new byte[weights.length];
        for (int c = 0; c < channels; c++) {
            for (int p = 0; p < perChannel; p++) {
                int i = c * perChannel + p;
                codes[i] = (byte) encode(weights[i], maxima[c * groups + p / g], expPerChannel[c], spec);
            }
        }
        return new QuantizedWeights(layerName, shape, spec, codes, maxima, exponents.clone());
    }

    /**
     * Sum of squared reconstruction errors of one channel range, without allocating.
     *
     * @param weights the weights
     * @param from first index (inclusive)
     * @param to last index (exclusive)
     * @param max the channel maximum m
     * @param exponent the exponent a
     * @param spec bits and grid
     * @return Σ (w - ŵ)²
     */
    public static double squaredError(
            float[] weights, int from, int to, float max, float exponent, QuantizerSpec spec) {
        if (max == 0f) {
            return 0;
        }
        float[] levels = levels(max, exponent, spec);
        int offset = spec.minCode();
        double sum = 0;
        for (int i = from; i < to; i++) {
            double d = weights[i] - levels[encode(weights[i], max, exponent, spec) - offset];
            sum += d * d;
        }
        return sum;
    }

    /**
     * Encodes one weight to its code index.
     *
     * @param w the weight
     * @param max the channel maximum m
     * @param exponent the exponent a
     * @param spec bits and grid
     * @return the code index in [{@link QuantizerSpec#minCode()}, {@link QuantizerSpec#maxCode()}]
     */
    public static int encode(float w, float max, float exponent, QuantizerSpec spec) {
        Grid grid = spec.getGrid();
        int bits = spec.getBits();
        if (max == 0f) {
            return grid == Grid.SYMMETRIC ? 0 : grid.nearestIndex(0, bits);
        }
        if (exponent == 1f && grid == Grid.SYMMETRIC) {
            // uniform RTN: q = clip(rint(w / s), -Q, Q), s = m / Q, in float like a plain uniform
            // quantizer
            int q = spec.maxCode();
            float step = max / q;
            return (int) Math.max(-q, Math.min(q, Math.rint(w / step)));
        }
        // x = sign(w) · (|w|/m)^a, then the grid's nearest level
        double ratio = Math.min(1.0, Math.abs((double) w) / max);
        double x = Math.copySign(exponent == 1f ? ratio : Math.pow(ratio, exponent), w);
        return grid.nearestIndex(x, bits);
    }

    /**
     * Returns the decoded value of every code index of one channel, indexed by {@code index -
     * minCode}: {@code sign(c)·m·(|c|/D)^(1/a)} with c the grid's integer code. On the symmetric
     * grid with {@code a = 1} it is {@code q·(m/Q)} in float, as uniform RTN computes it. An all-zero
     * channel ({@code m = 0}) decodes every code to 0.
     *
     * @param max the channel maximum m
     * @param exponent the exponent a
     * @param spec bits and grid
     * @return one decoded value per code index
     */
    public static float[] levels(float max, float exponent, QuantizerSpec spec) {
        Grid grid = spec.getGrid();
        int bits = spec.getBits();
        int min = spec.minCode();
        float[] levels = new float[spec.maxCode() - min + 1];
        if (max == 0f) {
            return levels;
        }
        if (exponent == 1f && grid == Grid.SYMMETRIC) {
            float step = max / spec.maxCode();
            for (int i = min; i <= spec.maxCode(); i++) {
                levels[i - min] = i * step;
            }
            return levels;
        }
        double inverse = 1.0 / exponent;
        double d = grid.denominator(bits);
        for (int i = min; i <= spec.maxCode(); i++) {
            int c = grid.integerCode(i);
            levels[i - min] = (float) Math.copySign(max * Math.pow(Math.abs(c) / d, inverse), c);
        }
        return levels;
    }

    /**
     * Returns the maximum |w| of every scale group: {@code channels × groupsPerChannel} values,
     * channel-major (one per channel when not grouped; with per-tensor scales every entry holds
     * the tensor maximum).
     *
     * @param weights the weights, first axis = output channel
     * @param channels the number of output channels
     * @param spec the scale granularity and group size
     * @return one maximum per group
     */
    public static float[] scaleMaxima(float[] weights, int channels, QuantizerSpec spec) {
        int perChannel = weights.length / channels;
        if (spec.groupsPerChannel(perChannel) == 1) {
            return channelMaxima(weights, channels, spec.getScaleGranularity());
        }
        int g = spec.groupLength(perChannel);
        int groups = spec.groupsPerChannel(perChannel);
        float[] maxima = new float[channels * groups];
        for (int c = 0; c < channels; c++) {
            for (int p = 0; p < perChannel; p++) {
                int k = c * groups + p / g;
                maxima[k] = Math.max(maxima[k], Math.abs(weights[c * perChannel + p]));
            }
        }
        return maxima;
    }

    /**
     * Σ (w - ŵ)² of one channel, group by group.
     *
     * @param weights the weights
     * @param channel the channel
     * @param perChannel weights per channel
     * @param maxima every group's maximum ({@link #scaleMaxima})
     * @param exponent the channel's exponent
     * @param spec bits, grid and group size
     * @return the channel's squared error
     */
    public static double channelSquaredError(
            float[] weights, int channel, int perChannel, float[] maxima, float exponent, QuantizerSpec spec) {
        int g = spec.groupLength(perChannel);
        int groups = spec.groupsPerChannel(perChannel);
        double sum = 0;
        for (int j = 0; j < groups; j++) {
            int from = channel * perChannel + j * g;
            int to = Math.min(from + g, (channel + 1) * perChannel);
            sum += squaredError(weights, from, to, maxima[channel * groups + j], exponent, spec);
        }
        return sum;
    }

    /**
     * Returns the maximum |w| per output channel; with per-tensor granularity every entry holds the
     * tensor maximum.
     *
     * @param weights the weights, first axis = output channel
     * @param channels the number of output channels
     * @param granularity per channel or per tensor
     * @return one maximum per channel
     */
    public static float[] channelMaxima(float[] weights, int channels, Granularity granularity) {
        int perChannel = weights.length / channels;
        float[] maxima = new float[channels];
        for (int c = 0; c < channels; c++) {
            float m = 0f;
            for (int i = c * perChannel, end = i + perChannel; i < end; i++) {
                m = Math.max(m, Math.abs(weights[i]));
            }
            maxima[c] = m;
        }
        if (granularity == Granularity.PER_TENSOR) {
            float m = 0f;
            for (float v : maxima) {
                m = Math.max(m, v);
            }
            Arrays.fill(maxima, m);
        }
        return maxima;
    }

    /**
     * Fails with an error naming the layer and the index of the first NaN or infinite weight.
     *
     * @param layerName the layer
     * @param weights the weights
     */
    public static void checkFinite(String layerName, float[] weights) {
        for (int i = 0; i < weights.length; i++) {
            if (!Float.isFinite(weights[i])) {
                throw new IllegalArgumentException(
                        "layer '"
                                + layerName
                                + "': weight at flat index "
                                + i
                                + " is "
                                + weights[i]
                                + "; cannot quantize non-finite weights");
            }
        }
    }

    /**
     * Validates an exponent against the supported range.
     *
     * @param layerName the layer, named in the error
     * @param exponent the exponent
     * @return the exponent
     */
    public static float checkExponent(String layerName, float exponent) {
        if (!(exponent >= ExponentRange.MIN && exponent <= ExponentRange.MAX)) {
            throw new IllegalArgumentException(
                    "layer '"
                            + layerName
                            + "': exponent "
                            + exponent
                            + " is outside ["
                            + ExponentRange.MIN
                            + ", "
                            + ExponentRange.MAX
                            + ']');
        }
        return exponent;
    }

    /**
     * Checks that a weight shape has at least two axes and holds exactly the given values.
     *
     * @param layerName the layer, named in the error
     * @param weights the flat weights
     * @param shape their shape, first axis = output channel
     * @return the number of output channels
     * @throws IllegalArgumentException naming the layer when they do not fit
     */
    public static int checkShape(String layerName, float[] weights, long[] shape) {
        if (shape.length < 2) {
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': weight must have at least 2 axes, got "
                            + Arrays.toString(shape));
        }
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        if (count != weights.length || shape[0] <= 0) {
            throw new IllegalArgumentException(
                    "layer '"
                            + layerName
                            + "': weight shape "
                            + Arrays.toString(shape)
                            + " does not match "
                            + weights.length
                            + " values");
        }
        return (int) shape[0];
    }

    static float[] expandExponents(
            String layerName, float[] exponents, int channels, QuantizerSpec spec) {
        int expected = spec.getExponentGranularity() == Granularity.PER_CHANNEL ? channels : 1;
        if (exponents.length != expected) {
            throw new IllegalArgumentException(
                    "layer '"
                            + layerName
                            + "': expected "
                            + expected
                            + " exponent(s) for "
                            + spec
                            + ", got "
                            + exponents.length);
        }
        for (float a : exponents) {
            checkExponent(layerName, a);
        }
        if (expected == channels) {
            return exponents;
        }
        float[] expanded = new float[channels];
        Arrays.fill(expanded, exponents[0]);
        return expanded;
    }
}
