package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.gptq.HessianAccumulator;

/**
 * Adds a layer's input rows to its Hessian through the engine: {@code Σ x xᵀ = XᵀX} is one matrix
 * product per chunk of rows (in float32, as the reference GPTQ accumulates), and the chunks are
 * summed in double by {@link HessianAccumulator#addGram}.
 */
final class InputGram {

    /** Rows per engine product. */
    static final int CHUNK_ROWS = 4096;

    private InputGram() {}

    /**
     * Adds rows that live on the engine.
     *
     * @param layerName the layer, named in errors
     * @param rows {@code (R, K)}, float32
     * @param accumulator the layer's accumulator
     * @throws IllegalArgumentException naming the layer and row when an input is not finite
     */
    static void add(String layerName, NDArray rows, HessianAccumulator accumulator) {
        long count = rows.getShape().get(0);
        for (long from = 0; from < count; from += CHUNK_ROWS) {
            long to = Math.min(count, from + CHUNK_ROWS);
            try (NDManager scope = rows.getManager().newSubManager()) {
                NDArray chunk = rows.get(from + ":" + to);
                chunk.attach(scope);
                addChunk(layerName, chunk, from, accumulator);
            }
        }
    }

    /**
     * Adds rows built in Java.
     *
     * @param layerName the layer, named in errors
     * @param rows row-major {@code count × K}
     * @param count the number of rows
     * @param firstRow the index of the first row among all the layer's rows, for errors
     * @param accumulator the layer's accumulator
     * @param manager the manager to compute in
     */
    static void add(
            String layerName,
            float[] rows,
            int count,
            long firstRow,
            HessianAccumulator accumulator,
            NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray chunk = scope.create(rows, new Shape(count, rows.length / count));
            addChunk(layerName, chunk, firstRow, accumulator);
        }
    }

    private static void addChunk(String layerName, NDArray chunk, long firstRow, HessianAccumulator accumulator) {
        NDArray bad = chunk.isNaN().logicalOr(chunk.isInfinite());
        if (bad.any().getBoolean()) {
            float[] perRow = bad.toType(DataType.FLOAT32, false).sum(new int[] {1}).toFloatArray();
            int row = 0;
            while (perRow[row] == 0) {
                row++;
            }
            float[] values = chunk.get(row).toFloatArray();
            float value = 0;
            for (float v : values) {
                if (!Float.isFinite(v)) {
                    value = v;
                    break;
                }
            }
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': input row " + (firstRow + row) + " holds " + value);
        }
        NDArray gram = chunk.transpose().matMul(chunk);
        accumulator.addGram(gram.toType(DataType.FLOAT32, false).toFloatArray(), chunk.getShape().get(0));
    }
}
