package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nupes.autograd.Scalars;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;

import java.util.List;

/**
 * The learned-rounding baseline (AdaRound-style) on the power grid: each weight may only take the
 * grid level just below or just above its data-free position; the exponent and the scale stay at
 * their data-free values.
 *
 * <p>Weights: {@code ŵ = lo + h·(hi - lo)} with {@code lo, hi} the two neighbouring decoded
 * levels and {@code h = clip(sigmoid(α)·(ζ - γ) + γ, 0, 1)}, ζ = 1.1, γ = -0.1 (the rectified
 * sigmoid). α starts where h equals the fractional part of the continuous code. Regulariser: {@code
 * λ·mean(1 - |2h - 1|^β)}, λ = 0.1, off for the first 20 % of iterations, then β anneals from 20 to
 * 2, pushing every h to 0 or 1. The final code is {@code lo + [h ≥ 1/2]}.
 */
final class RoundingReconstruction implements LayerReconstruction {

    private static final float ZETA = 1.1f;
    private static final float GAMMA = -0.1f;
    private static final float LAMBDA = 0.1f;
    private static final float WARMUP = 0.2f;

    private final LayerSetup setup;
    private final byte[] lowerCodes;
    private final NDArray lower;
    private final NDArray gap;
    private final NDArray alpha;
    private final NDArray channelMax;
    private final NDArray exponent;
    private final List<Adam> optimizers;

    RoundingReconstruction(NDManager manager, LayerSetup setup, float rate) {
        this.setup = setup;
        QuantizerSpec spec = setup.spec;
        Grid grid = spec.getGrid();
        int min = spec.minCode();
        int max = spec.maxCode();
        int n = setup.weights.length;
        float[] lo = new float[n];
        float[] span = new float[n];
        float[] alpha0 = new float[n];
        lowerCodes = new byte[n];
        for (int k = 0; k < setup.maxima.length; k++) {
            int c = k / setup.groups;
            float m = setup.maxima[k];
            float a = setup.exponentOf(c);
            float[] levels = PowerQuantizer.levels(m, a, spec);
            int from = c * setup.perChannel + (k % setup.groups) * setup.groupLength;
            int to = Math.min(from + setup.groupLength, (c + 1) * setup.perChannel);
            for (int i = from; i < to; i++) {
                double ratio = m == 0f ? 0 : Math.min(1.0, Math.abs(setup.weights[i]) / m);
                double x = Math.copySign(Math.pow(ratio, a), setup.weights[i]);
                double u = grid.continuousIndex(x, spec.getBits());
                int low = (int) Math.max(min, Math.min(max, Math.floor(u)));
                int high = Math.min(max, low + 1);
                double frac = Math.max(0, Math.min(1, u - low));
                lowerCodes[i] = (byte) low;
                lo[i] = levels[low - min] / setup.safeMaxima[k];
                span[i] = (levels[high - min] - levels[low - min]) / setup.safeMaxima[k];
                // h(α0) = frac ⇒ sigmoid(α0) = (frac - γ)/(ζ - γ)
                double s = (frac - GAMMA) / (ZETA - GAMMA);
                alpha0[i] = (float) Math.log(s / (1 - s));
            }
        }
        Shape shape = new Shape(setup.shape);
        this.lower = manager.create(lo, shape);
        this.gap = manager.create(span, shape);
        this.alpha = manager.create(alpha0, shape);
        this.channelMax = setup.safeMaxima(manager);
        this.exponent = manager.create(new float[] {setup.exponentOf(0)});
        this.optimizers = List.of(new Adam(alpha, rate));
    }

    private NDArray softRounding() {
        return Scalars.mul(Activation.sigmoid(alpha), ZETA - GAMMA).add(GAMMA).clip(0f, 1f);
    }

    @Override
    public List<Adam> optimizers() {
        return optimizers;
    }

    @Override
    public NDArray[] constants() {
        return new NDArray[] {lower, gap, channelMax, exponent};
    }

    @Override
    public NDArray weights(int iteration, int iterations) {
        return lower.add(softRounding().mul(gap)).mul(channelMax);
    }

    @Override
    public NDArray inputExponent(int iteration, int iterations) {
        return exponent;
    }

    @Override
    public NDArray regularizer(int iteration, int iterations, NDManager manager) {
        int warmup = (int) (WARMUP * iterations);
        if (iteration < warmup) {
            return null;
        }
        float progress = (iteration - warmup) / (float) Math.max(1, iterations - warmup);
        float beta = 20f + (2f - 20f) * progress;
        NDArray h = softRounding();
        return Scalars.mul(Scalars.pow(Scalars.mul(h, 2f).sub(1).abs(), beta).neg().add(1).mean(), LAMBDA);
    }

    @Override
    public float exponent() {
        float s = 0;
        for (float a : setup.exponents) {
            s += a;
        }
        return s / setup.exponents.length;
    }

    @Override
    public QuantizedWeights finish() {
        float[] h = softRounding().toFloatArray();
        byte[] codes = new byte[h.length];
        for (int i = 0; i < h.length; i++) {
            codes[i] = (byte) Math.min(setup.spec.maxCode(), lowerCodes[i] + (h[i] >= 0.5f ? 1 : 0));
        }
        return QuantizedWeights.of(setup.path, setup.shape, setup.spec, codes, setup.maxima, setup.exponents);
    }
}
