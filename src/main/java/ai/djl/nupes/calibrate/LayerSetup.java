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
 * What every reconstruction of one layer starts from: the float weights, the maxima of their scale
 * groups (one per channel unless grouped), and the data-free (per-layer PowerQuant) exponents.
 */
final class LayerSetup {

    final String path;
    final QuantizerSpec spec;
    final float[] weights;
    final long[] shape;
    final int channels;
    final int perChannel;
    /** Weights per scale group (the channel length when not grouped). */
    final int groupLength;
    /** Scale groups per channel (1 when not grouped). */
    final int groups;
    /** Every group's maximum m0, channel-major; 0 for an all-zero group. */
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
        this.groupLength = spec.groupLength(perChannel);
        this.groups = spec.groupsPerChannel(perChannel);
        this.maxima = PowerQuantizer.scaleMaxima(weights, channels, spec);
        this.safeMaxima = maxima.clone();
        for (int k = 0; k < safeMaxima.length; k++) {
            if (safeMaxima[k] == 0f) {
                safeMaxima[k] = 1f;
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

    /** The scale group of the weight at a flat index. */
    int groupOf(int index) {
        return (index / perChannel) * groups + (index % perChannel) / groupLength;
    }

    /** Whether scales come in groups within channels (and expand by a gather). */
    boolean grouped() {
        return groups > 1;
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

    /**
     * The shape of one learnable value per scale: {@code (C·G)} when grouped (expanded over the
     * weights by {@link #expand}), the channel shape per channel, {@code (1, …, 1)} per tensor.
     */
    Shape scaleShape() {
        if (grouped()) {
            return new Shape((long) channels * groups);
        }
        return spec.getScaleGranularity() == Granularity.PER_CHANNEL ? channelShape() : exponentShape();
    }

    /** The group of every weight, row-major, for {@link #expand}; null when not grouped. */
    NDArray groupIndex(NDManager manager) {
        if (!grouped()) {
            return null;
        }
        long[] index = new long[weights.length];
        for (int i = 0; i < index.length; i++) {
            index[i] = groupOf(i);
        }
        return manager.create(index);
    }

    /**
     * One value per scale, spread over the weights: a gather by {@code groupIndex} when grouped
     * (its gradient sums back into each group), the array itself (it broadcasts) otherwise.
     */
    NDArray expand(NDArray perScale, NDArray groupIndex) {
        return groupIndex == null ? perScale : perScale.get(groupIndex).reshape(new Shape(shape));
    }

    /** The float weights divided by their group's maximum, as an array. */
    NDArray normalizedWeights(NDManager manager) {
        return normalized(weights, manager);
    }

    /** Weights of this layer's shape divided by their group's float maximum, as an array. */
    NDArray normalized(float[] values, NDManager manager) {
        float[] v = new float[values.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = values[i] / safeMaxima[groupOf(i)];
        }
        return manager.create(v, new Shape(shape));
    }

    /** Every weight's group maximum m0 (zeros as 1): the channel shape unless grouped, else per weight. */
    NDArray safeMaxima(NDManager manager) {
        if (!grouped()) {
            return manager.create(safeMaxima, channelShape());
        }
        float[] m = new float[weights.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = safeMaxima[groupOf(i)];
        }
        return manager.create(m, new Shape(shape));
    }

    NDArray exponents(NDManager manager) {
        return manager.create(exponents.clone(), exponentShape());
    }
}
