package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.training.ParameterStore;

/**
 * One layer's reconstruction samples: its inputs in the model whose earlier layers are quantized,
 * and the float layer's outputs on its inputs in the float model (the targets), computed once.
 *
 * <p>For sequence models with a token mask {@code (N, T)} (1 for a token, 0 for padding) that fits
 * the layer's inputs (their first two axes are {@code (N, T)}: every Linear of a transformer
 * encoder), the samples are the real tokens' rows {@code (R, ...)}: a Linear acts on each position
 * alone, so the mean over token rows is the masked loss {@code Σ m·(y - t)² / (Σ m · F)}, padded
 * positions enter no loss and cost no compute.
 *
 * @param quantized inputs from the quantized prefix, one sample per first-axis entry
 * @param targets the float layer's outputs on the float model's inputs, aligned with {@code quantized}
 * @param rowsPerSample samples per calibration sample (real tokens per sentence on average; 1
 *     without a mask): a step of {@code batchSize} calibration samples takes this many more rows
 */
record LayerSamples(NDArray quantized, NDArray targets, double rowsPerSample) {

    /** Token rows per forward pass when computing targets. */
    private static final int TARGET_BATCH = StageActivations.CAPTURE_BATCH;

    /**
     * Builds the samples: the targets from the float inputs (batch by batch), then, where the mask
     * fits, the real tokens' rows of both. The float inputs are closed.
     *
     * @param layer the layer (its float form makes the targets)
     * @param quantizedInputs captured inputs from the quantized prefix
     * @param floatInputs captured inputs from the float model
     * @param mask the calibration data's token mask, or null
     * @param unit the manager the samples live in
     * @return the samples
     */
    static LayerSamples of(
            LayerQuantizer layer, NDArray quantizedInputs, NDArray floatInputs, NDArray mask, NDManager unit) {
        long n = floatInputs.getShape().get(0);
        NDList parts = new NDList();
        for (long from = 0; from < n; from += TARGET_BATCH) {
            NDArray x = floatInputs.get(from + ":" + Math.min(n, from + TARGET_BATCH));
            NDArray y = layer.getFloatLayer()
                    .forward(new ParameterStore(unit, false), new NDList(x), false)
                    .head()
                    .stopGradient();
            x.close();
            parts.add(y);
        }
        NDArray targets = parts.size() == 1 ? parts.head() : NDArrays.concat(parts);
        targets.attach(unit);
        if (parts.size() > 1) {
            parts.close();
        }
        floatInputs.close();
        NDArray fitting = maskFor(quantizedInputs, mask);
        if (fitting == null) {
            return new LayerSamples(quantizedInputs, targets, 1);
        }
        long[] keep = realPositions(fitting);
        try (NDArray index = unit.create(keep)) {
            NDArray inputRows = rows(quantizedInputs, index, unit);
            NDArray targetRows = rows(targets, index, unit);
            quantizedInputs.close();
            targets.close();
            return new LayerSamples(inputRows, targetRows, keep.length / (double) n);
        }
    }

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

    /** Flat {@code n·T + t} indices of the mask's real positions, in order. */
    private static long[] realPositions(NDArray mask) {
        float[] m = mask.toFloatArray();
        long[] keep = new long[m.length];
        int kept = 0;
        for (int p = 0; p < m.length; p++) {
            if (m[p] > 0.5f) {
                keep[kept++] = p;
            }
        }
        return java.util.Arrays.copyOf(keep, kept);
    }

    /** {@code values (N, T, ...)} → the rows {@code (R, ...)} at the flat positions {@code index}. */
    private static NDArray rows(NDArray values, NDArray index, NDManager unit) {
        Shape s = values.getShape();
        NDArray flat = values.reshape(new Shape(s.get(0) * s.get(1)).addAll(s.slice(2)));
        NDArray picked = flat.get(index);
        picked.attach(unit);
        flat.close();
        return picked;
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
        try (NDArray tokens = tokenRows(inputs, mask, inputs.getShape().tail())) {
            return tokens.toFloatArray();
        }
    }

    /**
     * The input rows {@code (R, K)} at real positions (every row without a mask), a new array the
     * caller closes.
     *
     * @param inputs captured inputs whose last axis is K
     * @param mask their token mask {@code (n, T)}, or null
     * @param columns K
     * @return the rows
     */
    static NDArray tokenRows(NDArray inputs, NDArray mask, long columns) {
        NDArray rows = inputs.reshape(-1, columns);
        if (mask == null) {
            return rows;
        }
        try (NDArray index = rows.getManager().create(realPositions(mask))) {
            NDArray tokens = rows.get(index);
            rows.close();
            return tokens;
        }
    }
}
