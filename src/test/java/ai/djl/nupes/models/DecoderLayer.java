package ai.djl.nupes.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.transformer.ScaledDotProductAttentionBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * One pre-LayerNorm decoder layer: {@code x + attention(norm(x), mask)}, then {@code x +
 * down(gelu(up(norm(x))))}. The attention is DJL's {@link ScaledDotProductAttentionBlock} (four
 * Linear projections); its second input is the additive causal mask {@code (1, 1, T, T)}.
 */
public final class DecoderLayer extends AbstractBlock {

    private static final byte VERSION = 1;

    private final int hidden;
    private final int ffn;
    private final Block attentionNorm;
    private final Block attention;
    private final Block ffnNorm;
    private final Block up;
    private final Block down;

    /**
     * Creates the layer.
     *
     * @param hidden model width E
     * @param heads attention heads (E divisible by it)
     * @param ffn feed-forward width
     */
    public DecoderLayer(int hidden, int heads, int ffn) {
        super(VERSION);
        this.hidden = hidden;
        this.ffn = ffn;
        attentionNorm = addChildBlock("attentionNorm", layerNorm());
        attention =
                addChildBlock(
                        "attention",
                        ScaledDotProductAttentionBlock.builder()
                                .setEmbeddingSize(hidden)
                                .setHeadCount(heads)
                                .optAttentionProbsDropoutProb(0f)
                                .build());
        ffnNorm = addChildBlock("ffnNorm", layerNorm());
        up = addChildBlock("up", Linear.builder().setUnits(ffn).build());
        down = addChildBlock("down", Linear.builder().setUnits(hidden).build());
    }

    /**
     * LayerNorm over the last axis of {@code (N, T, E)} (DJL's default would normalize over T too).
     *
     * @return the norm
     */
    static LayerNorm layerNorm() {
        return LayerNorm.builder().axis(2).build();
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray mask = inputs.get(1);
        NDArray a = attentionNorm.forward(ps, new NDList(x), training).head();
        x = x.add(attention.forward(ps, new NDList(a, mask), training).head());
        NDArray f = ffnNorm.forward(ps, new NDList(x), training).head();
        f = Activation.gelu(up.forward(ps, new NDList(f), training).head());
        x = x.add(down.forward(ps, new NDList(f), training).head());
        return new NDList(x);
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape x = inputShapes[0];
        Shape wide = x.slice(0, x.dimension() - 1).addAll(new Shape(ffn));
        Shape mask = inputShapes.length > 1 ? inputShapes[1] : new Shape(1, 1, x.get(1), x.get(1));
        attentionNorm.initialize(manager, dataType, x);
        attention.initialize(manager, dataType, x, mask);
        ffnNorm.initialize(manager, dataType, x);
        up.initialize(manager, dataType, x);
        down.initialize(manager, dataType, wide);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        return new Shape[] {inputs[0]};
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "DecoderLayer(" + hidden + ", ffn " + ffn + ')';
    }
}
