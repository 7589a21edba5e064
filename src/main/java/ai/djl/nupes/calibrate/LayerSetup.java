package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.quantizer.ExponentSearch;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizerSpec;

import java.util.Arrays;

/**
 * What every reconstruction of one layer starts from: the float weights, their per-channel maxima,
 * and the data-free (per-layer PowerQuant) exponents.
 */
final class LayerSetup {

    final String path;
    final QuantizerSpec spec;
    final float[] weights;
    final long[] shape;
    final int channels;
    final int perChannel;
    /** Per-channel maxima m0; 0 for an all-zero channel. */
    final float[] maxima;
    /** m0 with zeros replaced by 1, for normalising without dividing by zero. */
    final float[] safeMaxima;
    /** Data-free exponents: one, or one per channel. */
    final float[] exponents;

    LayerSetup(LayerQuantizer layer) {
        this.path = layer.getPath();
        this.spec = layer.getSpec();
        this.weights = layer.floatWeights();
        this.shape = layer.weightShape().getShape();
        PowerQuantizer.checkFinite(path, weights);
        this.channels = (int) shape[0];
        this.perChannel = weights.length / channels;
        this.maxima = PowerQuantizer.channelMaxima(weights, channels, spec.getScaleGranularity());
        this.safeMaxima = maxima.clone();
        for (int c = 0; c < channels; c++) {
            if (safeMaxima[c] == 0f) {
                safeMaxima[c] = 1f;
            }
        }
        if (spec.getExponentGranularity() == Granularity.PER_CHANNEL) {
            this.exponents = ExponentSearch.perChannel(weights, channels, spec);
        } else {
            this.exponents = new float[] {ExponentSearch.forLayer(weights, channels, spec).exponent()};
        }
    }

    /** The exponent of one channel. */
    float exponentOf(int channel) {
        return exponents.length == 1 ? exponents[0] : exponents[channel];
    }

    /** Shape {@code (C, 1, …, 1)}: broadcasts one value per output channel over the weight. */
    Shape channelShape() {
        long[] s = new long[shape.length];
        Arrays.fill(s, 1);
        s[0] = channels;
        return new Shape(s);
    }

    /** Shape {@code (1, …, 1)} or the channel shape, for the exponent. */
    Shape exponentShape() {
        if (exponents.length == channels && channels > 1) {
            return channelShape();
        }
        long[] s = new long[shape.length];
        Arrays.fill(s, 1);
        return new Shape(s);
    }

    /** The weights divided by their channel maximum, as an array. */
    NDArray normalizedWeights(NDManager manager) {
        float[] v = new float[weights.length];
        for (int c = 0; c < channels; c++) {
            for (int i = c * perChannel, end = i + perChannel; i < end; i++) {
                v[i] = weights[i] / safeMaxima[c];
            }
        }
        return manager.create(v, new Shape(shape));
    }

    NDArray safeMaxima(NDManager manager) {
        return manager.create(safeMaxima, channelShape());
    }

    NDArray exponents(NDManager manager) {
        return manager.create(exponents.clone(), exponentShape());
    }
}
