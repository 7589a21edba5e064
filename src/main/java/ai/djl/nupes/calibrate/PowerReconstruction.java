package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.autograd.GradientStep;
import ai.djl.nupes.quantizer.ExponentRange;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.PowerQuantizerOps;
import ai.djl.nupes.quantizer.QuantizedWeights;

import java.util.ArrayList;
import java.util.List;

/**
 * NUPES for one layer: latent weights anywhere on the grid, a learned per-channel scale and a
 * learned exponent (or a frozen one, for the {@code nupes-fixed-a} ablation).
 *
 * <p>Everything is normalised by the float channel maximum m0: the latent {@code v} starts at
 * {@code W/m0}; the scale is {@code m = m0·exp(ρ)} with ρ starting at 0 (so the first quantizer is
 * exactly the data-free one, never a scale of 1); the weights are {@code m0 ·
 * fakeQuantize(v, exp(ρ), a)} ({@link PowerQuantizerOps#fakeQuantize}).
 *
 * <p>Two phases ({@link Adam.Phase}): the grid phase learns a with v held at {@code W/m0}; the
 * weight phase learns v with a frozen; ρ learns in both. A frozen exponent (learning rate 0) gives the
 * {@code nupes-fixed-a} ablation.
 */
final class PowerReconstruction implements LayerReconstruction {

    private final LayerSetup setup;
    private final NDArray latent;
    private final NDArray logScale;
    private final NDArray exponent;
    private final NDArray channelMax;
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
        this.setup = setup;
        this.latent = setup.normalizedWeights(manager);
        this.channelMax = setup.safeMaxima(manager);
        this.logScale =
                setup.spec.getScaleGranularity() == Granularity.PER_CHANNEL
                        ? manager.zeros(setup.channelShape())
                        : manager.zeros(setup.exponentShape());
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

    @Override
    public List<Adam> optimizers() {
        return optimizers;
    }

    @Override
    public NDArray[] constants() {
        return new NDArray[] {channelMax, exponent};
    }

    @Override
    public NDArray weights(int iteration, int iterations) {
        NDArray v = latentOptimizer.learnsAt(iteration, iterations) ? latent : latent.stopGradient();
        NDArray rho = scaleOptimizer.learnsAt(iteration, iterations) ? logScale : logScale.stopGradient();
        NDArray a = exponentOptimizer.learnsAt(iteration, iterations) ? exponent : exponent.stopGradient();
        return PowerQuantizerOps.fakeQuantize(v, rho.exp(), a, setup.spec).mul(channelMax);
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
        float[] maxima = new float[setup.channels];
        byte[] codes = new byte[v.length];
        for (int c = 0; c < setup.channels; c++) {
            // an all-zero channel keeps m = 0 and decodes to zeros
            float m = setup.maxima[c] == 0f ? 0f : (float) (setup.maxima[c] * Math.exp(rho[rho.length == 1 ? 0 : c]));
            maxima[c] = m;
            float ac = a.length == 1 ? a[0] : a[c];
            for (int i = c * setup.perChannel, end = i + setup.perChannel; i < end; i++) {
                codes[i] = (byte) PowerQuantizer.encode(v[i] * setup.safeMaxima[c], m, ac, setup.spec);
            }
        }
        return QuantizedWeights.of(setup.path, setup.shape, setup.spec, codes, maxima, a);
    }
}
