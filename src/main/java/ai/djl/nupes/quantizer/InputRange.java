package ai.djl.nupes.quantizer;

import java.util.Arrays;

/**
 * Estimates the range of a layer's inputs from calibration samples, for input quantizers: the scale
 * (the magnitude that maps to the top code) and whether the inputs are non-negative, so that an
 * unsigned grid can spend every code on [0, scale].
 *
 * <p>Estimators: {@link Estimator#MAX} takes the largest magnitude seen; {@link
 * Estimator#PERCENTILE} the 99.99th percentile of the magnitudes (robust to a few outliers).
 */
public final class InputRange {

    /** How the scale is taken from the samples. */
    public enum Estimator {
        /** The largest magnitude. */
        MAX,
        /** The 99.99th percentile of the magnitudes. */
        PERCENTILE
    }

    /** The percentile {@link Estimator#PERCENTILE} uses. */
    public static final double PERCENTILE = 99.99;

    private final float scale;
    private final boolean unsigned;

    private InputRange(float scale, boolean unsigned) {
        this.scale = scale;
        this.unsigned = unsigned;
    }

    /**
     * Estimates the range of samples.
     *
     * @param samples the calibration inputs of one layer, flattened
     * @param estimator how to take the scale
     * @return the range
     * @throws IllegalArgumentException for no samples or a non-finite one
     */
    public static InputRange estimate(float[] samples, Estimator estimator) {
        if (samples.length == 0) {
            throw new IllegalArgumentException("no calibration samples to estimate an input range from");
        }
        boolean unsigned = true;
        float[] magnitudes = new float[samples.length];
        for (int i = 0; i < samples.length; i++) {
            float v = samples[i];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("calibration input " + i + " is " + v);
            }
            unsigned &= v >= 0f;
            magnitudes[i] = Math.abs(v);
        }
        float scale;
        if (estimator == Estimator.MAX) {
            scale = 0f;
            for (float m : magnitudes) {
                scale = Math.max(scale, m);
            }
        } else {
            Arrays.sort(magnitudes);
            // nearest-rank percentile
            int rank = (int) Math.ceil(PERCENTILE / 100 * magnitudes.length) - 1;
            scale = magnitudes[Math.max(0, Math.min(magnitudes.length - 1, rank))];
        }
        return new InputRange(scale, unsigned);
    }

    /**
     * Returns the scale: the input magnitude that maps to the top code.
     *
     * @return the scale
     */
    public float scale() {
        return scale;
    }

    /**
     * Whether every sample was non-negative (after a ReLU, say), so an unsigned grid fits.
     *
     * @return true for non-negative inputs
     */
    public boolean isUnsigned() {
        return unsigned;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return (unsigned ? "unsigned" : "signed") + " range ±" + scale;
    }
}
