package ai.djl.nupes.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * A trainable token table: {@code (N, T)} integer ids to {@code (N, T, E)} rows of its 2-d {@code
 * weight}. A leaf block with a 2-d {@code weight} that is not a Linear, so {@code
 * NupesConfig.optEmbeddingBits} quantizes it as a weight table.
 */
public final class CharEmbedding extends AbstractBlock {

    private static final byte VERSION = 1;

    private final Parameter weight;
    private final long rows;
    private final long width;

    /**
     * Creates the table.
     *
     * @param rows vocabulary size
     * @param width embedding size
     */
    public CharEmbedding(long rows, long width) {
        super(VERSION);
        this.rows = rows;
        this.width = width;
        this.weight =
                addParameter(
                        Parameter.builder()
                                .setName("weight")
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(rows, width))
                                .optInitializer(new NormalInitializer(0.02f))
                                .build());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.singletonOrThrow();
        if (ids.getDataType() != DataType.INT64) {
            ids = ids.toType(DataType.INT64, false);
        }
        NDArray table = ps.getValue(weight, ids.getDevice(), training);
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        return new Shape[] {inputs[0].addAll(new Shape(width))};
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "CharEmbedding(" + rows + " x " + width + ')';
    }
}
