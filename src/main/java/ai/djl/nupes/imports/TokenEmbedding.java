package ai.djl.nupes.imports;

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
 * A lookup table: row {@code i} of a {@code (rows, width)} parameter named {@code weight} for each
 * index {@code i}; {@code (N, T)} indices give {@code (N, T, width)}.
 *
 * <p>An imported table is frozen ({@code requiresGrad false}): post-training quantization never
 * changes it, and its gradient would be a dense {@code (rows, width)} array on every backward pass. A
 * model trained from scratch asks for a trainable one.
 */
public final class TokenEmbedding extends AbstractBlock {

    private static final byte VERSION = 1;

    private final Parameter weight;
    private final long rows;
    private final long width;

    /**
     * Creates a frozen table.
     *
     * @param rows number of entries (vocabulary, positions or token types)
     * @param width size of each entry
     */
    public TokenEmbedding(long rows, long width) {
        this(rows, width, false);
    }

    /**
     * Creates the table.
     *
     * @param rows number of entries (vocabulary, positions or token types)
     * @param width size of each entry
     * @param trainable whether the table learns (its gradient is computed)
     */
    public TokenEmbedding(long rows, long width, boolean trainable) {
        super(VERSION);
        this.rows = rows;
        this.width = width;
        this.weight =
                addParameter(
                        Parameter.builder()
                                .setName("weight")
                                .setType(Parameter.Type.WEIGHT)
                                .optInitializer(new NormalInitializer(0.02f))
                                .optRequiresGrad(trainable)
                                .build());
    }

    /**
     * The table parameter.
     *
     * @return the {@code weight} parameter
     */
    public Parameter getWeight() {
        return weight;
    }

    /** {@inheritDoc} */
    @Override
    public void prepare(Shape[] inputShapes) {
        weight.setShape(new Shape(rows, width));
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray indices = inputs.singletonOrThrow();
        if (indices.getDataType() != DataType.INT64) {
            indices = indices.toType(DataType.INT64, false);
        }
        NDArray table = ps.getValue(weight, indices.getDevice(), training);
        return indices.getNDArrayInternal().embedding(indices, table, SparseFormat.DENSE);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].addAll(new Shape(width))};
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "TokenEmbedding(" + rows + " x " + width + ')';
    }
}
