package ai.djl.nupes.quantizer;

import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * Data-free exponent search: picks the exponent that minimises weight reconstruction error.
 *
 * <p>Method: evaluate the objective on a uniform grid of {@value #GRID_POINTS} exponents over
 * {@link ExponentRange} (step 0.05); then on a fine grid of {@value #FINE_POINTS} points (step
 * 0.005) over one coarse step on each side of the best; then golden-section search for {@value
 * #REFINE_ITERATIONS} iterations within one fine step of the best. About 70 evaluations. The exact
 * value {@code a = 1} (uniform) is always a candidate, so the result is never worse than uniform on
 * the objective. The objective is piecewise smooth, with small jumps wherever a weight changes
 * code, so it is not unimodal: the grids find the basin and golden section only polishes.
 */
public final class ExponentSearch {

    /** Grid points over [0.2, 1.5]: a step of 0.05. */
    public static final int GRID_POINTS = 27;
    /** Fine grid points over one coarse step each side of the best: a step of 0.005. */
    public static final int FINE_POINTS = 21;
    /** Golden-section iterations inside the best grid bracket (bracket shrinks by 0.618 each). */
    public static final int REFINE_ITERATIONS = 20;

    private static final double INV_PHI = (Math.sqrt(5) - 1) / 2;

    private ExponentSearch() {}

    /**
     * The outcome of a search.
     *
     * @param exponent the best exponent
     * @param error the objective at that exponent
     * @param uniformError the objective at {@code a = 1}
     */
    public record Result(float exponent, double error, double uniformError) {}

    /**
     * Minimises any objective of the exponent over {@link ExponentRange}.
     *
     * @param objective error as a function of a
     * @return the best exponent and its error
     */
    public static Result minimize(DoubleUnaryOperator objective) {
        double lo = ExponentRange.MIN;
        double hi = ExponentRange.MAX;
        double step = (hi - lo) / (GRID_POINTS - 1);
        double uniform = objective.applyAsDouble(1f);
        Candidate best = bestOnGrid(objective, lo, hi, GRID_POINTS, new Candidate(1.0, uniform));
        // fine grid at step/10 over [a* - step, a* + step]
        double fine = step / 10;
        best =
                bestOnGrid(
                        objective,
                        Math.max(lo, best.a - step),
                        Math.min(hi, best.a + step),
                        FINE_POINTS,
                        best);
        // golden-section refine in [a* - fine, a* + fine]
        double a = Math.max(lo, best.a - fine);
        double b = Math.min(hi, best.a + fine);
        double c = b - INV_PHI * (b - a);
        double d = a + INV_PHI * (b - a);
        double fc = objective.applyAsDouble((float) c);
        double fd = objective.applyAsDouble((float) d);
        for (int i = 0; i < REFINE_ITERATIONS; i++) {
            if (fc < fd) {
                b = d;
                d = c;
                fd = fc;
                c = b - INV_PHI * (b - a);
                fc = objective.applyAsDouble((float) c);
            } else {
                a = c;
                c = d;
                fc = fd;
                d = a + INV_PHI * (b - a);
                fd = objective.applyAsDouble((float) d);
            }
        }
        best = best.orBetter(c, fc).orBetter(d, fd);
        return new Result((float) best.a, best.error, uniform);
    }

    private static Candidate bestOnGrid(
            DoubleUnaryOperator objective, double lo, double hi, int points, Candidate best) {
        double step = (hi - lo) / (points - 1);
        for (int i = 0; i < points; i++) {
            double a = lo + i * step;
            best = best.orBetter(a, objective.applyAsDouble((float) a));
        }
        return best;
    }

    /** An exponent and its objective; ties keep the earlier one (a = 1 is tried first). */
    private record Candidate(double a, double error) {
        Candidate orBetter(double otherA, double otherError) {
            return otherError < error ? new Candidate((float) otherA, otherError) : this;
        }
    }

    /**
     * Best single exponent for one layer: minimises Σ (w - ŵ)² over the whole tensor.
     *
     * @param weights the weights, first axis = output channel
     * @param channels output channel count
     * @param spec the quantizer spec (its scale granularity is honoured)
     * @return the result
     */
    public static Result forLayer(float[] weights, int channels, QuantizerSpec spec) {
        float[] maxima = PowerQuantizer.scaleMaxima(weights, channels, spec);
        return minimize(a -> layerError(weights, channels, maxima, (float) a, spec));
    }

    /**
     * Best exponent per output channel.
     *
     * @param weights the weights, first axis = output channel
     * @param channels output channel count
     * @param spec the quantizer spec
     * @return one exponent per channel
     */
    public static float[] perChannel(float[] weights, int channels, QuantizerSpec spec) {
        float[] maxima = PowerQuantizer.scaleMaxima(weights, channels, spec);
        int perChannel = weights.length / channels;
        float[] result = new float[channels];
        for (int c = 0; c < channels; c++) {
            int channel = c;
            result[c] =
                    minimize(a -> PowerQuantizer.channelSquaredError(
                                    weights, channel, perChannel, maxima, (float) a, spec))
                            .exponent();
        }
        return result;
    }

    /**
     * One exponent for a whole network (PowerQuantizer style): minimises the sum over layers of the
     * relative error {@code ||W - Ŵ||² / ||W||²}, so large layers do not drown small ones.
     *
     * @param layers each layer's weights and spec
     * @return the result
     */
    public static Result global(List<LayerWeights> layers) {
        double[] norms = new double[layers.size()];
        float[][] maxima = new float[layers.size()][];
        for (int l = 0; l < layers.size(); l++) {
            LayerWeights lw = layers.get(l);
            double n = 0;
            for (float w : lw.weights()) {
                n += (double) w * w;
            }
            norms[l] = Math.max(n, Double.MIN_NORMAL);
            maxima[l] = PowerQuantizer.scaleMaxima(lw.weights(), lw.channels(), lw.spec());
        }
        return minimize(
                a -> {
                    double sum = 0;
                    for (int l = 0; l < layers.size(); l++) {
                        LayerWeights lw = layers.get(l);
                        sum +=
                                layerError(lw.weights(), lw.channels(), maxima[l], (float) a, lw.spec())
                                        / norms[l];
                    }
                    return sum;
                });
    }

    /**
     * The weights of one layer for a global search.
     *
     * @param weights the weights, first axis = output channel
     * @param channels output channel count
     * @param spec the layer's spec
     */
    public record LayerWeights(float[] weights, int channels, QuantizerSpec spec) {}

    private static double layerError(
            float[] weights, int channels, float[] maxima, float a, QuantizerSpec spec) {
        int perChannel = weights.length / channels;
        double sum = 0;
        for (int c = 0; c < channels; c++) {
            sum += PowerQuantizer.channelSquaredError(weights, c, perChannel, maxima, a, spec);
        }
        return sum;
    }
}
