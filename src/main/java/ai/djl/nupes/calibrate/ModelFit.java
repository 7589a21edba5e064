package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.training.ParameterStore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Checks, before any layer is calibrated, that the calibration inputs run through the float model
 * and reach every quantized layer, so that a wrong input fails at once and names where it broke.
 */
public final class ModelFit {

    private static final long PROBE_SAMPLES = 2;

    private ModelFit() {}

    /**
     * Runs the first calibration samples through the model with quantization off.
     *
     * @param modelName the model's name, for messages
     * @param root the model's root block (holding the wrapped layers)
     * @param layers the wrapped layers, in network order
     * @param data the calibration inputs
     * @param manager working manager
     * @throws IllegalArgumentException naming the input shapes and the last layer reached when the
     *     forward pass fails, or the first layer it never reaches
     */
    public static void check(
            String modelName, Block root, List<QuantizedLayer> layers, CalibrationData data, NDManager manager) {
        Map<String, String> reached = new LinkedHashMap<>();
        boolean[] enabled = new boolean[layers.size()];
        for (int i = 0; i < layers.size(); i++) {
            LayerQuantizer q = layers.get(i).getQuantizer();
            enabled[i] = q.isEnabled();
            q.setEnabled(false);
            q.setInputListener(inputs -> reached.putIfAbsent(q.getPath(), inputs.head().getShape().toString()));
        }
        String shapes = null;
        try (NDManager probe = manager.newSubManager()) {
            NDList batch = data.range(probe, 0, Math.min(PROBE_SAMPLES, data.size()));
            shapes = batch.stream().map(a -> a.getShape() + " " + a.getDataType()).collect(Collectors.joining(", "));
            root.forward(new ParameterStore(probe, false), batch, false);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "calibration inputs [" + shapes + "] do not fit model '" + modelName + "': the forward pass failed "
                            + where(layers, reached) + ": " + e.getMessage(),
                    e);
        } finally {
            for (int i = 0; i < layers.size(); i++) {
                layers.get(i).getQuantizer().setInputListener(null);
                layers.get(i).getQuantizer().setEnabled(enabled[i]);
            }
        }
        List<String> missed = new ArrayList<>();
        for (QuantizedLayer l : layers) {
            if (!reached.containsKey(l.getPath())) {
                missed.add(l.getPath());
            }
        }
        if (!missed.isEmpty()) {
            throw new IllegalArgumentException(
                    "model '" + modelName + "': the forward pass on the calibration inputs [" + shapes
                            + "] never reaches layer '" + missed.get(0) + "'" + (missed.size() > 1
                                    ? " (nor " + (missed.size() - 1) + " more)" : "")
                            + "; exclude unreached layers with a LayerSelector");
        }
    }

    private static String where(List<QuantizedLayer> layers, Map<String, String> reached) {
        if (reached.isEmpty()) {
            return "before its first quantized layer '" + layers.get(0).getPath() + "' was reached";
        }
        String last = null;
        for (String path : reached.keySet()) {
            last = path;
        }
        String next = null;
        for (int i = 0; i < layers.size() - 1; i++) {
            if (layers.get(i).getPath().equals(last)) {
                next = layers.get(i + 1).getPath();
            }
        }
        return "at or after layer '" + last + "' (its input: " + reached.get(last) + ')'
                + (next == null ? "" : ", before layer '" + next + "'");
    }
}
