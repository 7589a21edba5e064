package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.autograd.GradientStep;
import ai.djl.nupes.quantizer.ExponentRange;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.PowerQuantizerOps;
import ai.djl.nupes.quantizer.QuantizedWeights;

import java.util.ArrayList;
import java.util.List;

/**
 * NUPES for one layer: latent weights anywhere on the grid, a learned per-channel scale and a
 * learned exponent (or a frozen one, for the {@code nupes-fixed-a} ablation).
 *
 * <p>Everything is normalised by the float maximum m0 of each weight's scale group (its channel
 * unless grouped): the latent {@code v} starts at {@code W/m0}; the scale is {@code m = m0·exp(ρ)},
 * one ρ per group, starting at 0 (so the first quantizer is
 * exactly the data-free one, never a scale of 1); the weights are {@code m0 ·
 * fakeQuantize(v, exp(ρ), a)} ({@link PowerQuantizerOps#fakeQuantize}).
 *
 * <p>Two phases ({@link Adam.Phase}): the grid phase learns a with v held at its start; the
 * weight phase learns v with a frozen; ρ learns in both. A frozen exponent (learning rate 0) gives the
 * {@code nupes-fixed-a} ablation.
 */
final class PowerReconstruction implements LayerReconstruction {

    private final LayerSetup setup;
    private final NDArray latent;
    private final NDArray logScale;
    private final NDArray exponent;
    private final NDArray channelMax;
    private final NDArray groupIndex;
    private final List<Adam> optimizers = new ArrayList<>();
    private final Adam latentOptimizer;
    private final Adam scaleOptimizer;
    private final Adam exponentOptimizer;

    PowerReconstruction(
            NDManager manager,
            LayerSetup setup,
            float weightRate,
            float scaleRate,
            float exponentRate) {
        this(manager, setup, null, weightRate, scaleRate, exponentRate);
    }

    /**
     * Starts at quantized weights on the data-free exponents (GPTQ's, say) instead of the float
     * weights: {@code v = Ŵ/m0} and {@code ρ = ln(m/m0)} per scale group, so their codes are the
     * first quantizer the loss sees.
     *
     * @param start the starting weights, or null for the float weights and ρ = 0
     */
    PowerReconstruction(
            NDManager manager,
            LayerSetup setup,
            QuantizedWeights start,
            float weightRate,
            float scaleRate,
            float exponentRate) {
        this.setup = setup;
        this.channelMax = setup.safeMaxima(manager);
        if (start == null) {
            this.latent = setup.normalizedWeights(manager);
            this.logScale = manager.zeros(setup.scaleShape());
        } else {
            this.latent = setup.normalized(start.decode(), manager);
            float[] rho = logRatios(start.getMaxima(), setup);
            // one learned scale for the whole tensor: GPTQ's channel maxima cannot all be kept
            this.logScale = rho.length == setup.scaleShape().size()
                    ? manager.create(rho, setup.scaleShape())
                    : manager.zeros(setup.scaleShape());
        }
        this.groupIndex = setup.groupIndex(manager);
        this.exponent = setup.exponents(manager);
        // the scale learns throughout; the exponent in the grid phase, on the float weights; the
        // latent weights after it
        this.scaleOptimizer = new Adam(logScale, scaleRate);
        this.exponentOptimizer = new Adam(exponent, exponentRate, Adam.Phase.GRID);
        this.latentOptimizer = new Adam(latent, weightRate, Adam.Phase.WEIGHTS);
        optimizers.add(scaleOptimizer);
        optimizers.add(exponentOptimizer);
        optimizers.add(latentOptimizer);
    }

    /** {@code ln(m/m0)} per scale group; 0 where either maximum is 0. */
    private static float[] logRatios(float[] maxima, LayerSetup setup) {
        if (maxima.length != setup.maxima.length) {
            throw new IllegalArgumentException("layer '" + setup.path + "': the start has " + maxima.length
                    + " scales, the layer " + setup.maxima.length);
        }
        float[] rho = new float[maxima.length];
        for (int k = 0; k < rho.length; k++) {
            rho[k] = maxima[k] > 0 && setup.maxima[k] > 0 ? (float) Math.log(maxima[k] / (double) setup.maxima[k]) : 0f;
        }
        return rho;
    }

    @Override
    public List<Adam> optimizers() {
        return optimizers;
    }

    @Override
    public NDArray[] constants() {
        return groupIndex == null
                ? new NDArray[] {channelMax, exponent}
                : new NDArray[] {channelMax, exponent, groupIndex};
    }

    @Override
    public NDArray weights(int iteration, int iterations) {
        NDArray v = latentOptimizer.learnsAt(iteration, iterations) ? latent : latent.stopGradient();
        NDArray rho = scaleOptimizer.learnsAt(iteration, iterations) ? logScale : logScale.stopGradient();
        NDArray a = exponentOptimizer.learnsAt(iteration, iterations) ? exponent : exponent.stopGradient();
        return PowerQuantizerOps.fakeQuantize(v, setup.expand(rho.exp(), groupIndex), a, setup.spec).mul(channelMax);
    }

    @Override
    public NDArray inputExponent(int iteration, int iterations) {
        NDArray a = exponentOptimizer.learnsAt(iteration, iterations) ? exponent : exponent.stopGradient();
        return a.reshape(1);
    }

    /** Keeps the exponent inside its range after an update: a ← clip(a). */
    void project() {
        NDArray a = exponent.stopGradient();
        GradientStep.subtractInPlace(exponent, a.sub(a.clip(ExponentRange.MIN, ExponentRange.MAX)));
    }

    @Override
    public float exponent() {
        return exponent.mean().getFloat();
    }

    @Override
    public QuantizedWeights finish() {
        float[] v = latent.toFloatArray();
        float[] rho = logScale.toFloatArray();
        float[] a = exponent.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            a[i] = ExponentRange.clamp(a[i]);
        }
        float[] maxima = new float[setup.maxima.length];
        for (int k = 0; k < maxima.length; k++) {
            // an all-zero group keeps m = 0 and decodes to zeros
            maxima[k] = setup.maxima[k] == 0f ? 0f : (float) (setup.maxima[k] * Math.exp(rho[rho.length == 1 ? 0 : k]));
        }
        byte[] codes = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            int k = setup.groupOf(i);
            int c = i / setup.perChannel;
            codes[i] = (byte) PowerQuantizer.encode(
                    v[i] * setup.safeMaxima[k], maxima[k], a.length == 1 ? a[0] : a[c], setup.spec);
        }
        return QuantizedWeights.of(setup.path, setup.shape, setup.spec, codes, maxima, a);
    }
}
