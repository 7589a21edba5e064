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
 * <p>An all-zero channel ({@code m = 0}) encodes to code 0 and decodes to exact zeros.
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
        float[] maxima = channelMaxima(weights, channels, spec.getScaleGranularity());
        int q = spec.maxCode();
        int perChannel = weights.length / channels;
        byte[] codes = new byte[weights.length];
        for (int c = 0; c < channels; c++) {
            int from = c * perChannel;
            encodeChannel(weights, codes, from, from + perChannel, maxima[c], expPerChannel[c], q);
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
     * @param maxCode Q
     * @return Σ (w - ŵ)²
     */
    public static double squaredError(
            float[] weights, int from, int to, float max, float exponent, int maxCode) {
        if (max == 0f) {
            return 0;
        }
        float[] levels = levels(max, exponent, maxCode);
        double sum = 0;
        for (int i = from; i < to; i++) {
            int code = encode(weights[i], max, exponent, maxCode);
            float decoded = code >= 0 ? levels[code] : -levels[-code];
            double d = weights[i] - decoded;
            sum += d * d;
        }
        return sum;
    }

    /**
     * Encodes one weight.
     *
     * @param w the weight
     * @param max the channel maximum m (positive)
     * @param exponent the exponent a
     * @param maxCode Q
     * @return the code in [-Q, Q]
     */
    public static int encode(float w, float max, float exponent, int maxCode) {
        if (max == 0f) {
            return 0;
        }
        double scaled;
        if (exponent == 1f) {
            // uniform RTN: q = rint(w / s), s = m / Q, in float like a plain uniform quantizer
            float step = max / maxCode;
            scaled = w / step;
        } else {
            // q = rint(sign(w) · Q · (|w|/m)^a)
            double ratio = Math.min(1.0, Math.abs((double) w) / max);
            scaled = Math.copySign(maxCode * Math.pow(ratio, exponent), w);
        }
        double code = Math.rint(scaled);
        return (int) Math.max(-maxCode, Math.min(maxCode, code));
    }

    /**
     * Returns the decoded magnitude of every non-negative code of one channel: {@code levels[k] =
     * m·(k/Q)^(1/a)}; for {@code a = 1} it is {@code k·(m/Q)} in float, as uniform RTN computes it.
     *
     * @param max the channel maximum m
     * @param exponent the exponent a
     * @param maxCode Q
     * @return Q + 1 magnitudes, {@code levels[0] = 0}
     */
    public static float[] levels(float max, float exponent, int maxCode) {
        float[] levels = new float[maxCode + 1];
        if (max == 0f) {
            return levels;
        }
        if (exponent == 1f) {
            float step = max / maxCode;
            for (int k = 1; k <= maxCode; k++) {
                levels[k] = k * step;
            }
        } else {
            double inverse = 1.0 / exponent;
            for (int k = 1; k <= maxCode; k++) {
                levels[k] = (float) (max * Math.pow((double) k / maxCode, inverse));
            }
        }
        return levels;
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

    static int checkShape(String layerName, float[] weights, long[] shape) {
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

    private static void encodeChannel(
            float[] weights, byte[] codes, int from, int to, float max, float exponent, int q) {
        for (int i = from; i < to; i++) {
            codes[i] = (byte) encode(weights[i], max, exponent, q);
        }
    }
}
