package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.training.ParameterStore;

import java.util.ArrayList;
import java.util.List;

/** Captures one layer's inputs over the calibration data, stopping each forward pass at the layer. */
final class LayerInputs {

    /** Samples per forward pass when capturing or scoring over the calibration data. */
    static final int CAPTURE_BATCH = 128;

    private LayerInputs() {}

    /** Runs the model over the calibration data and returns the inputs the layer receives. */
    static NDArray capture(Block root, LayerQuantizer layer, CalibrationData data, NDManager unit) {
        List<NDArray> parts = new ArrayList<>();
        layer.setInputListener(
                inputs -> {
                    NDArray copy = inputs.head().duplicate();
                    copy.attach(unit);
                    parts.add(copy);
                    throw new InputCaptured();
                });
        try {
            for (int from = 0; from < data.size(); from += CAPTURE_BATCH) {
                try (NDManager step = unit.newSubManager()) {
                    NDList batch = data.range(step, from, Math.min(data.size(), from + CAPTURE_BATCH));
                    try {
                        root.forward(new ParameterStore(step, false), batch, false);
                        throw new IllegalStateException(
                                "layer " + layer.getPath() + " is not reached by the model's forward pass");
                    } catch (InputCaptured expected) {
                        // the layer saw this batch; nothing after it needs to run
                    }
                }
            }
        } finally {
            layer.setInputListener(null);
        }
        NDArray all = NDArrays.concat(new NDList(parts));
        all.attach(unit);
        for (NDArray p : parts) {
            p.close();
        }
        return all;
    }

    /** Thrown by the capture listener to stop a forward pass once the layer has its input. */
    private static final class InputCaptured extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InputCaptured() {
            super(null, null, false, false);
        }
    }
}
