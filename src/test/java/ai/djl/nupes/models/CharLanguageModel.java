package ai.djl.nupes.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.StagedBlock;
import ai.djl.nupes.imports.TokenEmbedding;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.List;

/**
 * A byte-level decoder-only transformer language model from DJL blocks: {@code (N, T)} byte ids
 * (0..vocab-1) to {@code (N, T, vocab)} next-byte logits. Token table (a trainable {@link
 * TokenEmbedding}), learned positions ({@link PositionEmbedding}, up to {@code context} positions), {@code layers}
 * pre-LayerNorm {@link DecoderLayer}s with a causal mask (position t attends to positions ≤ t only),
 * a final LayerNorm and an <b>untied</b> Linear LM head.
 */
public final class CharLanguageModel extends AbstractBlock implements StagedBlock {

    /** Additive mask value for a later position: {@code exp} of it underflows to exactly 0. */
    static final float MASKED = -1e9f;

    private static final byte VERSION = 1;

    private final int vocab;
    private final int context;
    private final int hidden;
    private final Block embedding;
    private final Block positions;
    private final List<Block> layers = new ArrayList<>();
    private final Block norm;
    private final Block head;

    /**
     * Creates the model.
     *
     * @param vocab vocabulary size (128 for ASCII bytes)
     * @param context the longest sequence T
     * @param hidden model width E
     * @param layers number of decoder layers
     * @param heads attention heads per layer
     * @param ffn feed-forward width
     */
    public CharLanguageModel(int vocab, int context, int hidden, int layers, int heads, int ffn) {
        super(VERSION);
        this.vocab = vocab;
        this.context = context;
        this.hidden = hidden;
        embedding = addChildBlock("embedding", new TokenEmbedding(vocab, hidden, true));
        positions = addChildBlock("positions", new PositionEmbedding(context, hidden));
        for (int i = 0; i < layers; i++) {
            this.layers.add(addChildBlock("layer" + i, new DecoderLayer(hidden, heads, ffn)));
        }
        norm = addChildBlock("norm", DecoderLayer.layerNorm());
        head = addChildBlock("head", Linear.builder().setUnits(vocab).build());
    }

    /**
     * The longest sequence the position table holds.
     *
     * @return T
     */
    public int getContext() {
        return context;
    }

    /**
     * The vocabulary size.
     *
     * @return the number of logits per position
     */
    public int getVocab() {
        return vocab;
    }

    /**
     * The additive causal mask {@code (1, 1, T, T)}: 0 where a query may see a key (key ≤ query),
     * {@link #MASKED} above the diagonal.
     *
     * @param manager where to create it
     * @param tokens T
     * @return the mask
     */
    public static NDArray causalMask(NDManager manager, int tokens) {
        float[] m = new float[tokens * tokens];
        for (int q = 0; q < tokens; q++) {
            for (int k = q + 1; k < tokens; k++) {
                m[q * tokens + k] = MASKED;
            }
        }
        return manager.create(m, new Shape(1, 1, tokens, tokens));
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = inputs;
        for (Stage stage : getStages()) {
            x = stage.forward(ps, x, training);
        }
        return x;
    }

    /**
     * The forward pass as a chain: {@code embedding} (ids → hidden, causal mask), each decoder layer
     * (hidden, mask → hidden, mask), then {@code head} (final norm and LM head → logits).
     *
     * @return the stages over the current blocks
     */
    @Override
    public List<Stage> getStages() {
        List<Stage> stages = new ArrayList<>();
        Block embeddingBlock = embedding;
        Block positionBlock = positions;
        stages.add(
                Stage.of(
                        "embedding",
                        embeddingBlock,
                        (ps, in, training) -> {
                            NDArray ids = in.head();
                            int tokens = (int) ids.getShape().get(1);
                            if (tokens > context) {
                                throw new IllegalArgumentException(
                                        "sequence of " + tokens + " tokens is longer than the model's context "
                                                + context);
                            }
                            NDArray x = embeddingBlock.forward(ps, new NDList(ids), training).head();
                            x = positionBlock.forward(ps, new NDList(x), training).head();
                            return new NDList(x, causalMask(ids.getManager(), tokens));
                        }));
        for (int i = 0; i < layers.size(); i++) {
            Block layer = layers.get(i);
            stages.add(
                    Stage.of(
                            "layer" + i,
                            layer,
                            (ps, in, training) -> new NDList(layer.forward(ps, in, training).head(), in.get(1))));
        }
        Block normBlock = norm;
        Block headBlock = head;
        stages.add(
                Stage.of(
                        "head",
                        headBlock,
                        (ps, in, training) -> {
                            NDArray x = normBlock.forward(ps, new NDList(in.head()), training).head();
                            return headBlock.forward(ps, new NDList(x), training);
                        }));
        return stages;
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        Shape x = ids.addAll(new Shape(hidden));
        Shape mask = new Shape(1, 1, ids.get(1), ids.get(1));
        embedding.initialize(manager, dataType, ids);
        positions.initialize(manager, dataType, x);
        for (Block layer : layers) {
            layer.initialize(manager, dataType, x, mask);
        }
        norm.initialize(manager, dataType, x);
        head.initialize(manager, dataType, x);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        return new Shape[] {inputs[0].addAll(new Shape(vocab))};
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "CharLanguageModel(vocab " + vocab + ", context " + context + ", width " + hidden
                + ", " + layers.size() + " layers)";
    }
}
