package ai.djl.nupes.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * Adds a learned position vector to each token: {@code (N, t, E) + (T, E)[:t]} for any {@code t ≤ T}.
 */
public final class PositionEmbedding extends AbstractBlock {

    private static final byte VERSION = 1;

    private final Parameter position;
    private final long tokens;
    private final long embedding;

    /**
     * Creates the block.
     *
     * @param tokens sequence length T
     * @param embedding embedding size E
     */
    public PositionEmbedding(long tokens, long embedding) {
        super(VERSION);
        this.tokens = tokens;
        this.embedding = embedding;
        this.position =
                addParameter(
                        Parameter.builder()
                                .setName("position")
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(tokens, embedding))
                                .optInitializer(new NormalInitializer(0.02f))
                                .build());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray table = ps.getValue(position, x.getDevice(), training);
        long t = x.getShape().get(1);
        if (t < tokens) {
            // a shorter sequence (the language model's) takes the first t positions
            table = table.get(new NDIndex(":{}", t));
        }
        return new NDList(x.add(table));
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        return new Shape[] {inputs[0]};
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "PositionEmbedding(" + tokens + " x " + embedding + ')';
    }
}
