package ai.djl.nupes.quantizer;

import java.util.Arrays;

/**
 * The integer form of one weight tensor: code indices, the maximum m of every scale group (one per
 * channel unless grouped, channel-major) and the exponent(s). Immutable; arrays are copied on the
 * way out.
 */
public final class QuantizedWeights {

    private final String layerName;
    private final long[] shape;
    private final QuantizerSpec spec;
    private final byte[] codes;
    private final float[] maxima;
    private final float[] exponents;

    QuantizedWeights(
            String layerName,
            long[] shape,
            QuantizerSpec spec,
            byte[] codes,
            float[] maxima,
            float[] exponents) {
        this.layerName = layerName;
        this.shape = shape.clone();
        this.spec = spec;
        this.codes = codes;
        this.maxima = maxima;
        this.exponents = exponents;
    }

    /**
     * Rebuilds quantized weights from stored parts, validating the code range, the maxima and the
     * exponents.
     *
     * @param layerName the layer, named in errors
     * @param shape the weight shape
     * @param spec the quantizer spec
     * @param codes the codes, row-major
     * @param maxima one maximum per output channel
     * @param exponents one exponent, or one per channel
     * @return the quantized weights
     */
    public static QuantizedWeights of(
            String layerName,
            long[] shape,
            QuantizerSpec spec,
            byte[] codes,
            float[] maxima,
            float[] exponents) {
        float[] placeholder = new float[codes.length];
        int channels = PowerQuantizer.checkShape(layerName, placeholder, shape);
        PowerQuantizer.expandExponents(layerName, exponents, channels, spec);
        int groups = channels * spec.groupsPerChannel(codes.length / channels);
        if (maxima.length != groups) {
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': expected " + groups + " maxima, got "
                            + maxima.length);
        }
        for (int c = 0; c < groups; c++) {
            if (!(maxima[c] >= 0f) || !Float.isFinite(maxima[c])) {
                throw new IllegalArgumentException(
                        "layer '" + layerName + "': scale group " + c + " maximum is " + maxima[c]);
            }
        }
        int min = spec.minCode();
        int max = spec.maxCode();
        for (int i = 0; i < codes.length; i++) {
            if (codes[i] < min || codes[i] > max) {
                throw new IllegalArgumentException(
                        "layer '" + layerName + "': code " + codes[i] + " at index " + i
                                + " is outside [" + min + ", " + max + ']');
            }
        }
        return new QuantizedWeights(
                layerName, shape, spec, codes.clone(), maxima.clone(), exponents.clone());
    }

    /**
     * Decodes every code: {@code ŵ = sign(q)·m·(|q|/Q)^(1/a)}, through one table of levels per
     * channel (a gather).
     *
     * @return the decoded weights, row-major
     */
    public float[] decode() {
        int channels = (int) shape[0];
        int perChannel = codes.length / channels;
        int g = spec.groupLength(perChannel);
        int groups = spec.groupsPerChannel(perChannel);
        int offset = spec.minCode();
        float[] out = new float[codes.length];
        for (int c = 0; c < channels; c++) {
            for (int j = 0; j < groups; j++) {
                float[] levels = PowerQuantizer.levels(maxima[c * groups + j], exponentOf(c), spec);
                int from = c * perChannel + j * g;
                for (int i = from, end = Math.min(from + g, (c + 1) * perChannel); i < end; i++) {
                    out[i] = levels[codes[i] - offset];
                }
            }
        }
        return out;
    }

    /**
     * Stored bits per weight: the codes plus a 32-bit scale per group and a 32-bit exponent per
     * exponent, over the weight count.
     *
     * @return bits per weight
     */
    public double bitsPerWeight() {
        return spec.getBits() + 32.0 * (maxima.length + exponents.length) / codes.length;
    }

    /**
     * Returns the exponent used by an output channel.
     *
     * @param channel the channel
     * @return its exponent
     */
    public float exponentOf(int channel) {
        return exponents.length == 1 ? exponents[0] : exponents[channel];
    }

    /**
     * Returns a copy of the codes.
     *
     * @return codes in [-Q, Q]
     */
    public byte[] getCodes() {
        return codes.clone();
    }

    /**
     * Returns a copy of the scale groups' maxima.
     *
     * @return one m per group (per output channel unless grouped), channel-major
     */
    public float[] getMaxima() {
        return maxima.clone();
    }

    /**
     * Returns a copy of the exponent(s).
     *
     * @return one exponent or one per channel
     */
    public float[] getExponents() {
        return exponents.clone();
    }

    /**
     * Returns the weight shape.
     *
     * @return a copy of the shape
     */
    public long[] getShape() {
        return shape.clone();
    }

    /**
     * Returns the spec.
     *
     * @return the spec
     */
    public QuantizerSpec getSpec() {
        return spec;
    }

    /**
     * Returns the layer name.
     *
     * @return the layer name
     */
    public String getLayerName() {
        return layerName;
    }

    /**
     * Returns the number of weights.
     *
     * @return the element count
     */
    public int size() {
        return codes.length;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return layerName + ' ' + Arrays.toString(shape) + ' ' + spec + " a="
                + Arrays.toString(exponents.length > 4 ? Arrays.copyOf(exponents, 4) : exponents);
    }
}
