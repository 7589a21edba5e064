package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.quantizer.InputRange;

import java.util.List;

/**
 * Calibrates input quantizers after data-free weight quantization: layer by layer in network order,
 * capture the layer's inputs in the model whose earlier layers (weights and inputs) are already
 * quantized, estimate their range and install an input quantizer sharing the layer's exponent.
 */
public final class InputCalibration {

    private InputCalibration() {}

    /**
     * Installs an input quantizer on every layer whose settings quantize its inputs.
     *
     * @param root the model's root block
     * @param layers the wrapped layers, weights already quantized, in network order
     * @param data calibration inputs
     * @param estimator how ranges are estimated
     * @param manager working manager
     */
    public static void apply(
            Block root,
            List<QuantizedLayer> layers,
            CalibrationData data,
            InputRange.Estimator estimator,
            NDManager manager) {
        for (QuantizedLayer l : layers) {
            l.getQuantizer().setInputQuantizer(null);
        }
        try (StageActivations activations = StageActivations.of(root, layers, data, false, manager)) {
            for (int i = 0; i < layers.size(); i++) {
                LayerQuantizer q = layers.get(i).getQuantizer();
                if (q.getSettings().quantizesInputs()) {
                    q.setInputQuantizer(estimate(activations, i, data, q.getSettings().activationBits(), estimator, manager));
                }
            }
        }
    }

    /** Captures a layer's inputs as the model now stands and estimates their quantizer. */
    private static InputQuantizer estimate(
            StageActivations activations,
            int index,
            CalibrationData data,
            int bits,
            InputRange.Estimator estimator,
            NDManager manager) {
        try (NDManager unit = manager.newSubManager()) {
            NDArray inputs = activations.capture(index, false, unit);
            return of(LayerSamples.tokenValues(inputs, LayerSamples.maskFor(inputs, data.mask())), bits, estimator);
        }
    }

    static InputQuantizer of(float[] values, int bits, InputRange.Estimator estimator) {
        return InputQuantizer.of(bits, InputRange.estimate(values, estimator));
    }
}
