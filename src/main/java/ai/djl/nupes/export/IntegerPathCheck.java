package ai.djl.nupes.export;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.nn.FrozenLayer;
import ai.djl.nupes.nn.FrozenWeights;
import ai.djl.nupes.integer.IntegerLayer;
import ai.djl.training.ParameterStore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks, layer by layer, that a frozen model's integer path computes what its float path does.
 *
 * <p>One forward pass of the model records the input every frozen layer receives; each input then
 * runs through the layer twice, on the float path (decoded weights, fake-quantized inputs, the
 * engine's matMul/convolution) and on the integer path ({@link ai.djl.nupes.integer.IntegerLayer}).
 * A layer's difference is {@code max|y_int - y_float| / max|y_float|} over all its outputs: relative
 * to the layer's output range, since single outputs near zero come from cancelling sums.
 */
public final class IntegerPathCheck {

    private IntegerPathCheck() {}

    /**
     * One layer's comparison.
     *
     * @param path the layer's path
     * @param calls how many inputs the layer received during the forward pass
     * @param outputs outputs compared
     * @param maxAbsDifference {@code max|y_int - y_float|}
     * @param maxAbsOutput {@code max|y_float|}
     * @param unsupported why the layer cannot run the integer path, or null
     */
    public record LayerDifference(
            String path, int calls, long outputs, double maxAbsDifference, double maxAbsOutput, String unsupported) {

        /**
         * The difference relative to the output range.
         *
         * @return {@code max|y_int - y_float| / max|y_float|} (the absolute difference for an
         *     all-zero output); NaN where the layer cannot run the integer path
         */
        public double relative() {
            if (unsupported != null) {
                return Double.NaN;
            }
            return maxAbsOutput > 0 ? maxAbsDifference / maxAbsOutput : maxAbsDifference;
        }
    }

    /**
     * Compares the two paths on every frozen layer of a model.
     *
     * @param root the frozen model's block
     * @param inputs one batch of model inputs
     * @param manager working manager (everything created is closed before returning)
     * @return one row per frozen layer, in the order the layers were first reached
     */
    public static List<LayerDifference> run(Block root, NDList inputs, NDManager manager) {
        Map<FrozenWeights, List<NDArray>> seen = new LinkedHashMap<>();
        List<FrozenWeights> layers = new ArrayList<>();
        collect(root, layers);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("the model has no frozen layers to check");
        }
        List<LayerDifference> rows = new ArrayList<>();
        try (NDManager check = manager.newSubManager()) {
            for (FrozenWeights f : layers) {
                f.setInputListener(
                        x -> {
                            NDArray copy = x.duplicate();
                            copy.attach(check);
                            seen.computeIfAbsent(f, k -> new ArrayList<>()).add(copy);
                        });
            }
            try (NDManager pass = check.newSubManager()) {
                root.forward(new ParameterStore(pass, false), inputs, false);
            } finally {
                for (FrozenWeights f : layers) {
                    f.setInputListener(null);
                }
            }
            for (FrozenWeights f : layers) {
                List<NDArray> xs = seen.get(f);
                if (xs == null) {
                    continue;
                }
                String unsupported = IntegerLayer.unsupported(f.getTemplate(), f.getSpec(), f.getInputQuantizer());
                if (unsupported != null) {
                    rows.add(new LayerDifference(f.getPath(), xs.size(), 0, Double.NaN, Double.NaN, unsupported));
                    continue;
                }
                IntegerLayer integer = IntegerLayer.fromFrozen(f.data(), f.getTemplate());
                double diff = 0;
                double range = 0;
                long outputs = 0;
                for (NDArray x : xs) {
                    try (NDManager step = check.newSubManager()) {
                        ParameterStore ps = new ParameterStore(step, false);
                        NDArray yFloat = f.forwardFloat(ps, x);
                        yFloat.attach(step);
                        NDArray yInteger = integer.forward(x);
                        yInteger.attach(step);
                        float[] viaFloat = yFloat.toFloatArray();
                        float[] viaInteger = yInteger.toFloatArray();
                        for (int i = 0; i < viaFloat.length; i++) {
                            diff = Math.max(diff, Math.abs((double) viaInteger[i] - viaFloat[i]));
                            range = Math.max(range, Math.abs((double) viaFloat[i]));
                        }
                        outputs += viaFloat.length;
                    }
                }
                rows.add(new LayerDifference(f.getPath(), xs.size(), outputs, diff, range, null));
            }
        }
        return rows;
    }

    private static void collect(Block block, List<FrozenWeights> out) {
        if (block instanceof FrozenLayer f) {
            out.add(f.getFrozenWeights());
            return;
        }
        for (Block child : block.getChildren().values()) {
            collect(child, out);
        }
    }
}
