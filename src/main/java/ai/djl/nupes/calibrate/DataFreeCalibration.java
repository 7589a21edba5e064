package ai.djl.nupes.calibrate;

import ai.djl.nupes.LayerReport;
import ai.djl.nupes.Method;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.quantizer.ExponentSearch;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Data-free quantization: picks exponents from the weights alone and quantizes every layer.
 *
 * <ul>
 *   <li>{@link Method#UNIFORM}: a = 1;
 *   <li>{@link Method#POWERQUANT_GLOBAL}: one a for the network, {@link ExponentSearch#global};
 *   <li>{@link Method#POWERQUANT_LAYER}: one a per layer ({@link ExponentSearch#forLayer}), or per
 *       channel when the spec asks for per-channel exponents.
 * </ul>
 */
public final class DataFreeCalibration {

    private DataFreeCalibration() {}

    /**
     * Quantizes every layer with the data-free exponents of a method.
     *
     * @param layers the wrapped layers
     * @param method a data-free method; data-driven methods start from {@link
     *     Method#POWERQUANT_LAYER}
     * @return one report per layer
     */
    public static List<LayerReport> apply(List<QuantizedLayer> layers, Method method) {
        Float global = null;
        if (method == Method.POWERQUANT_GLOBAL) {
            List<ExponentSearch.LayerWeights> all = new ArrayList<>();
            for (QuantizedLayer l : layers) {
                LayerQuantizer q = l.getQuantizer();
                if (!q.getSettings().table()) {
                    all.add(new ExponentSearch.LayerWeights(
                            q.floatWeights(), (int) q.weightShape().get(0), q.getSpec()));
                }
            }
            global = all.isEmpty() ? null : ExponentSearch.global(all).exponent();
        }
        List<LayerReport> reports = new ArrayList<>(layers.size());
        for (QuantizedLayer l : layers) {
            LayerQuantizer q = l.getQuantizer();
            reports.add(quantizeLayer(q, q.getSettings().table() ? tableMethod(method) : method, global));
        }
        return reports;
    }

    /**
     * The data-free method a weight table gets: uniform under uniform and gptq, per-layer PowerQuant under
     * every other method (tables are read, not computed: our design).
     *
     * @param method the model's method
     * @return the table's method
     */
    static Method tableMethod(Method method) {
        return method == Method.UNIFORM || method == Method.GPTQ ? Method.UNIFORM : Method.POWERQUANT_LAYER;
    }

    /**
     * Quantizes one layer with a data-free method and installs the result.
     *
     * @param q the layer
     * @param method uniform, or a PowerQuant variant
     * @param global the network's exponent under {@link Method#POWERQUANT_GLOBAL}, else null
     * @return the layer's report
     */
    static LayerReport quantizeLayer(LayerQuantizer q, Method method, Float global) {
        long start = System.nanoTime();
        float[] w = q.floatWeights();
        int channels = (int) q.weightShape().get(0);
        QuantizerSpec spec = q.getSpec();
        boolean perChannel = spec.getExponentGranularity() == Granularity.PER_CHANNEL;
        float[] exponents;
        if (method == Method.UNIFORM) {
            exponents = filled(perChannel ? channels : 1, 1f);
        } else if (method == Method.POWERQUANT_GLOBAL && global != null) {
            exponents = filled(perChannel ? channels : 1, global);
        } else if (perChannel) {
            exponents = ExponentSearch.perChannel(w, channels, spec);
        } else {
            exponents = new float[] {ExponentSearch.forLayer(w, channels, spec).exponent()};
        }
        QuantizedWeights qw = q.quantize(exponents);
        double seconds = (System.nanoTime() - start) / 1e9;
        float a = mean(exponents);
        return new LayerReport(
                q.getPath(), spec.getBits(), a, a, relativeError(w, qw.decode()), Double.NaN, Double.NaN,
                seconds, qw.size(), qw.bitsPerWeight());
    }

    /**
     * Relative squared error {@code ||W - Ŵ||² / ||W||²} (0 for an all-zero W).
     *
     * @param w the float weights
     * @param decoded the decoded weights
     * @return the relative error
     */
    public static double relativeError(float[] w, float[] decoded) {
        double err = 0;
        double norm = 0;
        for (int i = 0; i < w.length; i++) {
            double d = w[i] - decoded[i];
            err += d * d;
            norm += (double) w[i] * w[i];
        }
        return norm == 0 ? 0 : err / norm;
    }

    /**
     * Mean of an array.
     *
     * @param values the values
     * @return their mean
     */
    public static float mean(float[] values) {
        double s = 0;
        for (float v : values) {
            s += v;
        }
        return (float) (s / values.length);
    }

    private static float[] filled(int n, float v) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, v);
        return out;
    }
}
