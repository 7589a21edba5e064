package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.training.ParameterStore;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.LinearSolverFactory_MT_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The weights GPTQ rounds when it fits the float model's outputs ({@link
 * GptqTarget#FLOAT_OUTPUTS}): a ridge fit of the float layer's outputs on the quantized-prefix
 * inputs, pulled towards the float weights.
 *
 * <pre>
 *   W' = argmin_V Σ_rows ‖y − V·x_q‖² + λ·‖V − W‖²  =  W + Δ,   Δᵀ = (H + λI)⁻¹ · C
 *   H = 2/n · Σ x_q x_qᵀ,   C = 2/n · Σ x_q rᵀ,   r = y − W·x_q − b
 * </pre>
 *
 * over the layer's input rows: token rows of a Linear, patch rows of a Conv2d (the same rows as
 * its GPTQ Hessian). {@code y} is the float layer's output on the float model's inputs (the
 * reconstruction target) and {@code r} what the float weights miss of it on the quantized inputs:
 * where the inputs carry no error, r = 0 and W' = W exactly. λ is {@link #DAMPING} times H's mean
 * diagonal: with few rows per input the fit would follow the calibration rows' noise, and the
 * ridge keeps W' near W (dead inputs, whose rows of H and C are zero, keep W's weights).
 */
final class OutputTarget {

    /**
     * λ as a fraction of H's mean diagonal; our choice, from MiniLM at W4 g128 (the README gives
     * the runs with 0.01, 0.1 and 1).
     */
    static final double DAMPING = 0.1;

    private static final Logger logger = LoggerFactory.getLogger(OutputTarget.class);

    private OutputTarget() {}

    /**
     * Computes W'.
     *
     * @param layer the layer (a Linear, or an ungrouped Conv2d: {@link GptqCalibration#handles})
     * @param samples its quantized-prefix inputs and float targets
     * @param hessian {@code H = 2/n Σ x xᵀ} of the same inputs' rows
     * @param weights the float weights W, row-major, first axis = output channel
     * @param unit the manager for working arrays
     * @return W', the same layout as W (a new array)
     * @throws IllegalArgumentException naming the layer when it is neither Linear nor Conv2d
     */
    static float[] weights(LayerQuantizer layer, LayerSamples samples, DMatrixRMaj hessian, float[] weights,
            NDManager unit) {
        int outputs = (int) layer.weightShape().get(0);
        int columns = weights.length / outputs;
        if (hessian.numRows != columns) {
            throw new IllegalArgumentException("layer '" + layer.getPath() + "': H is " + hessian.numRows + " x "
                    + hessian.numCols + " for " + columns + " weights per output");
        }
        Cross cross = new Cross(columns, outputs);
        Block floatLayer = layer.getFloatLayer();
        try (NDManager scope = unit.newSubManager()) {
            if (floatLayer instanceof Linear) {
                addTokenRows(floatLayer, samples, cross, columns, outputs, scope);
            } else if (floatLayer instanceof Conv2d conv) {
                addPatchRows(conv, samples, cross, outputs, scope);
            } else {
                throw new IllegalArgumentException("layer '" + layer.getPath() + "': the float-output target fits"
                        + " Linear and Conv2d layers, not " + floatLayer.getClass().getSimpleName());
            }
        }
        DMatrixRMaj delta = solve(layer.getPath(), hessian, cross);
        if (delta == null) {
            return weights.clone();
        }
        float[] target = weights.clone();
        for (int o = 0; o < outputs; o++) {
            for (int k = 0; k < columns; k++) {
                target[o * columns + k] += (float) delta.get(k, o);
            }
        }
        return target;
    }

    /** {@code Σ x rᵀ} (K × outputs) and its row count. */
    private static final class Cross {
        final DMatrixRMaj sum;
        long rows;

        Cross(int columns, int outputs) {
            this.sum = new DMatrixRMaj(columns, outputs);
        }

        /** Adds {@code xᵀ r} of one chunk, computed on the engine in float32, summed in double. */
        void add(NDArray x, NDArray r) {
            float[] product = x.transpose().matMul(r).toType(DataType.FLOAT32, false).toFloatArray();
            double[] data = sum.getData();
            for (int i = 0; i < product.length; i++) {
                data[i] += product[i];
            }
            rows += x.getShape().get(0);
        }
    }

    /** A Linear's rows: every leading position of its inputs (the real tokens' rows when masked). */
    private static void addTokenRows(
            Block linear, LayerSamples samples, Cross cross, int columns, int outputs, NDManager scope) {
        NDArray x = samples.quantized().reshape(-1, columns);
        NDArray y = samples.targets().reshape(-1, outputs);
        long n = x.getShape().get(0);
        for (long from = 0; from < n; from += InputGram.CHUNK_ROWS) {
            try (NDManager step = scope.newSubManager()) {
                NDArray xc = x.get(from + ":" + Math.min(n, from + InputGram.CHUNK_ROWS));
                xc.attach(step);
                NDArray yc = y.get(from + ":" + Math.min(n, from + InputGram.CHUNK_ROWS));
                yc.attach(step);
                NDArray residual = yc.sub(linear.forward(new ParameterStore(step, false), new NDList(xc), false).head());
                cross.add(xc, residual);
            }
        }
    }

    /** A Conv2d's patch rows, image by image as {@link GptqCalibration.PatchRows} unfolds them. */
    private static void addPatchRows(Conv2d conv, LayerSamples samples, Cross cross, int outputs, NDManager scope) {
        NDArray x = samples.quantized();
        NDArray y = samples.targets();
        GptqCalibration.PatchRows.forEachChunk(conv, x, (rows, count, firstImage, images) -> {
            try (NDManager step = scope.newSubManager()) {
                String range = firstImage + ":" + (firstImage + images);
                NDArray xi = x.get(range);
                xi.attach(step);
                NDArray yi = y.get(range);
                yi.attach(step);
                NDArray out = conv.forward(new ParameterStore(step, false), new NDList(xi), false).head();
                // (images, outputs, H', W') → rows (image, y, x) × outputs, the patch rows' order
                NDArray residual = yi.sub(out).transpose(0, 2, 3, 1).reshape(-1, outputs);
                NDArray patches = step.create(rows, new ai.djl.ndarray.types.Shape(count, rows.length / count));
                cross.add(patches, residual);
            }
        });
    }

    /**
     * {@code Δᵀ = (H + λI)⁻¹ · 2/n · Σ x rᵀ}, or null (logged) when no row was seen, H is zero or
     * the damped H does not factorize.
     */
    private static DMatrixRMaj solve(String layerName, DMatrixRMaj hessian, Cross cross) {
        int k = hessian.numRows;
        double meanDiagonal = CommonOps_DDRM.trace(hessian) / k;
        if (cross.rows == 0 || !(meanDiagonal > 0)) {
            logger.warn("{}: no input rows with signal; GPTQ fits the float weights", layerName);
            return null;
        }
        DMatrixRMaj damped = hessian.copy();
        for (int j = 0; j < k; j++) {
            damped.add(j, j, DAMPING * meanDiagonal);
        }
        DMatrixRMaj c = cross.sum.copy();
        CommonOps_DDRM.scale(2.0 / cross.rows, c);
        LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_MT_DDRM.chol(k);
        if (!solver.setA(damped)) {
            logger.warn("{}: H + {}·mean(diag H)·I does not factorize; GPTQ fits the float weights", layerName,
                    DAMPING);
            return null;
        }
        DMatrixRMaj delta = new DMatrixRMaj(k, c.numCols);
        solver.solve(c, delta);
        for (double v : delta.getData()) {
            if (!Double.isFinite(v)) {
                logger.warn("{}: the float-output fit is not finite; GPTQ fits the float weights", layerName);
                return null;
            }
        }
        return delta;
    }
}
