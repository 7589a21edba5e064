package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.autograd.Scalars;

/**
 * One layer's captured calibration inputs: from the quantized-prefix model and from the float
 * model, and, for sequence models, which positions are real tokens.
 *
 * <p>The mask {@code (N, T)} holds 1 for a token and 0 for padding; it applies to a layer whose
 * inputs start with the same {@code (N, T)} axes (every Linear of a transformer encoder), and then
 * padded positions enter no loss and no input range: {@code loss = Σ m·(y - t)² / (Σ m · F)} with F
 * the remaining output elements per position.
 *
 * @param quantized inputs in the model whose earlier layers are quantized
 * @param floats inputs in the float model
 * @param mask the token mask aligned with the inputs' first two axes, or null
 */
record LayerSamples(NDArray quantized, NDArray floats, NDArray mask) {

    /**
     * The calibration data's token mask when it fits a layer's inputs (their first two axes are
     * the mask's {@code (N, T)}), else null.
     *
     * @param inputs a layer's captured inputs
     * @param mask the data's token mask, or null
     * @return the mask or null
     */
    static NDArray maskFor(NDArray inputs, NDArray mask) {
        Shape s = inputs.getShape();
        boolean fits = mask != null && s.dimension() >= 3 && s.get(0) == mask.getShape().get(0)
                && s.get(1) == mask.getShape().get(1);
        return fits ? mask : null;
    }

    /** The number of samples. */
    long size() {
        return quantized.getShape().get(0);
    }

    /**
     * {@code Σ m·(out - target)² / (Σ m · F)}: the mean squared error over real positions (over
     * every element without a mask).
     *
     * @param out the layer's outputs, {@code (n, T, ...)}
     * @param target the reconstruction target, same shape
     * @param mask the batch's token mask {@code (n, T)}, or null
     * @return a scalar array
     */
    static NDArray meanSquaredError(NDArray out, NDArray target, NDArray mask) {
        NDArray squared = out.sub(target).square();
        if (mask == null) {
            return squared.mean();
        }
        NDArray count = Scalars.mul(mask.sum(), (float) perPosition(squared));
        return squared.mul(broadcastable(mask, squared)).sum().div(count);
    }

    /** Elements of an {@code (n, T, ...)} array per position: the product of its trailing axes. */
    static long perPosition(NDArray values) {
        return values.size() / (values.getShape().get(0) * values.getShape().get(1));
    }

    /** The mask reshaped to {@code (n, T, 1, …, 1)}, broadcastable over {@code values}. */
    static NDArray broadcastable(NDArray mask, NDArray values) {
        long[] dims = new long[values.getShape().dimension()];
        java.util.Arrays.fill(dims, 1);
        dims[0] = mask.getShape().get(0);
        dims[1] = mask.getShape().get(1);
        return mask.reshape(new Shape(dims));
    }

    /**
     * The input values at real positions, for range estimation.
     *
     * @param inputs captured inputs {@code (n, T, ...)}
     * @param mask their token mask, or null for every value
     * @return the values
     */
    static float[] tokenValues(NDArray inputs, NDArray mask) {
        if (mask == null) {
            return inputs.toFloatArray();
        }
        Shape s = inputs.getShape();
        long positions = s.get(0) * s.get(1);
        float[] m = mask.toFloatArray();
        long[] keep = new long[m.length];
        int kept = 0;
        for (int p = 0; p < m.length; p++) {
            if (m[p] > 0.5f) {
                keep[kept++] = p;
            }
        }
        NDArray rows = inputs.reshape(positions, -1);
        try (NDArray index = rows.getManager().create(java.util.Arrays.copyOf(keep, kept));
                NDArray tokens = rows.get(index)) {
            return tokens.toFloatArray();
        }
    }
}
