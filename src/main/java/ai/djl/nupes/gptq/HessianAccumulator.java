package ai.djl.nupes.gptq;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * Accumulates a layer's input Hessian {@code H = 2/n · Σ x xᵀ} over rows of inputs given batch by
 * batch (a row is one token's or one convolution patch's input vector).
 */
public final class HessianAccumulator {

    private final String layerName;
    private final int columns;
    private final DMatrixRMaj sum;
    private long rows;

    /**
     * Creates an empty accumulator.
     *
     * @param layerName the layer, named in errors
     * @param columns the input size K
     */
    public HessianAccumulator(String layerName, int columns) {
        if (columns <= 0) {
            throw new IllegalArgumentException("layer '" + layerName + "': input size " + columns);
        }
        this.layerName = layerName;
        this.columns = columns;
        this.sum = new DMatrixRMaj(columns, columns);
    }

    /**
     * Adds rows of inputs.
     *
     * @param inputs row-major, {@code count × K}
     * @param count the number of rows
     * @throws IllegalArgumentException for a size mismatch or a non-finite input
     */
    public void add(float[] inputs, int count) {
        if ((long) count * columns != inputs.length) {
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': " + inputs.length + " input values are not " + count
                            + " rows of " + columns);
        }
        DMatrixRMaj x = new DMatrixRMaj(count, columns);
        double[] data = x.getData();
        for (int i = 0; i < inputs.length; i++) {
            if (!Float.isFinite(inputs[i])) {
                throw new IllegalArgumentException(
                        "layer '" + layerName + "': input row " + i / columns + " holds " + inputs[i]);
            }
            data[i] = inputs[i];
        }
        // Σ x xᵀ over rows = Xᵀ X, symmetric: EJML's inner product computes one triangle and mirrors it
        if (rows == 0) {
            CommonOps_DDRM.multInner(x, sum);
        } else {
            DMatrixRMaj batch = new DMatrixRMaj(columns, columns);
            CommonOps_DDRM.multInner(x, batch);
            CommonOps_DDRM.addEquals(sum, batch);
        }
        rows += count;
    }

    /**
     * Adds the Gram matrix {@code Σ x xᵀ} of rows whose product was computed elsewhere (by the
     * engine, for one chunk of rows).
     *
     * @param gram row-major {@code K × K}
     * @param count the number of rows it sums
     * @throws IllegalArgumentException for a size mismatch, a negative count or a non-finite entry
     */
    public void addGram(float[] gram, long count) {
        if (gram.length != columns * columns) {
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': a Gram matrix of " + gram.length + " values is not "
                            + columns + "x" + columns);
        }
        if (count < 0) {
            throw new IllegalArgumentException("layer '" + layerName + "': " + count + " rows");
        }
        double[] data = sum.getData();
        for (int i = 0; i < gram.length; i++) {
            if (!Float.isFinite(gram[i])) {
                throw new IllegalArgumentException(
                        "layer '" + layerName + "': its inputs' Gram matrix holds " + gram[i] + " at ("
                                + i / columns + ", " + i % columns + ")");
            }
            data[i] += gram[i];
        }
        rows += count;
    }

    /**
     * The layer this Hessian belongs to.
     *
     * @return its path
     */
    public String layerName() {
        return layerName;
    }

    /**
     * The number of rows added.
     *
     * @return n
     */
    public long rows() {
        return rows;
    }

    /**
     * Returns {@code 2/n · Σ x xᵀ}.
     *
     * @return a new K × K matrix
     * @throws IllegalStateException when no row was added
     */
    public DMatrixRMaj hessian() {
        if (rows == 0) {
            throw new IllegalStateException("layer '" + layerName + "': no calibration input reached it");
        }
        DMatrixRMaj h = sum.copy();
        CommonOps_DDRM.scale(2.0 / rows, h);
        return h;
    }
}
