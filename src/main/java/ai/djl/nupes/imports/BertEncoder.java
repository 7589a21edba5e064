package ai.djl.nupes.imports;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nupes.StagedBlock;
import ai.djl.nupes.autograd.Scalars;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face BERT-family encoder built from DJL blocks: {@link BertEmbeddings} followed by
 * {@code numLayers} {@link BertLayer}s, every projection a plain {@link ai.djl.nn.core.Linear}.
 *
 * <p>Input {@code NDList(input_ids, attention_mask[, token_type_ids])}, each {@code (N, T)} INT64
 * or INT32 (what DJL's {@code TextEmbeddingTranslator} passes with {@code includeTokenTypes=true};
 * missing token types are zeros). Output {@code NDList(last_hidden_state)}, {@code (N, T, hidden)},
 * the array named {@code last_hidden_state}.
 *
 * <p>Children: {@code embeddings}, then {@code layer0} … {@code layerN-1}; the layers are called
 * through the child list, so a replaced layer is the one that runs. The parameter order depends on
 * the config only, so a DJL params file written from one instance loads into any other built from
 * the same config.
 */
public final class BertEncoder extends AbstractBlock implements StagedBlock {

    /** The name of the output array, which {@code TextEmbeddingTranslator} looks up. */
    public static final String OUTPUT_NAME = "last_hidden_state";

    private static final byte VERSION = 1;

    private final BertConfig config;
    private Block embeddings;

    /**
     * Creates an uninitialized encoder.
     *
     * @param config the architecture
     */
    public BertEncoder(BertConfig config) {
        super(VERSION);
        this.config = config;
        embeddings = addChildBlock("embeddings", new BertEmbeddings(config));
        for (int i = 0; i < config.numLayers(); i++) {
            addChildBlock("layer" + i, new BertLayer(config));
        }
    }

    /**
     * The architecture.
     *
     * @return the config
     */
    public BertConfig getConfig() {
        return config;
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
     * The chain {@code embeddings} ({@code (input_ids, attention_mask[, token_type_ids])} → {@code
     * (hidden, attention bias)}), then {@code layer0} … ({@code (hidden, bias)} → {@code (hidden,
     * bias)}); the last layer's stage returns {@code NDList(last_hidden_state)}. The forward pass is
     * this chain.
     *
     * @return the stages, over the current children
     */
    @Override
    public List<Stage> getStages() {
        List<Stage> stages = new ArrayList<>();
        Block embeddingBlock = embeddings;
        stages.add(Stage.of(children.keyAt(0), embeddingBlock, (ps, in, training) -> embed(embeddingBlock, ps, in, training)));
        for (int i = 1; i < children.size(); i++) {
            Block layer = children.valueAt(i);
            boolean last = i == children.size() - 1;
            stages.add(
                    Stage.of(
                            children.keyAt(i),
                            layer,
                            (ps, in, training) -> {
                                NDArray hidden = layer.forward(ps, in, training).head();
                                if (last) {
                                    hidden.setName(OUTPUT_NAME);
                                    return new NDList(hidden);
                                }
                                return new NDList(hidden, in.get(1));
                            }));
        }
        return stages;
    }

    private NDList embed(Block embeddingBlock, ParameterStore ps, NDList inputs, boolean training) {
        if (inputs.size() < 2 || inputs.size() > 3) {
            throw new IllegalArgumentException(
                    "expected NDList(input_ids, attention_mask[, token_type_ids]), got "
                            + inputs.size()
                            + " arrays");
        }
        NDArray ids = indices(inputs.get(0), "input_ids");
        NDArray mask = inputs.get(1);
        NDArray types =
                inputs.size() == 3 ? indices(inputs.get(2), "token_type_ids") : ids.zerosLike();
        Shape shape = ids.getShape();
        if (!mask.getShape().equals(shape) || !types.getShape().equals(shape)) {
            throw new IllegalArgumentException(
                    "input_ids "
                            + shape
                            + ", attention_mask "
                            + mask.getShape()
                            + " and token_type_ids "
                            + types.getShape()
                            + " must have one (N, T)"
                            + " shape");
        }
        // bias = (1 - mask) · c, (N, 1, 1, T): c for padded keys, 0 for real ones
        NDArray keep =
                mask.toType(DataType.FLOAT32, false).reshape(shape.get(0), 1, 1, shape.get(1));
        NDArray maskBias = Scalars.mul(keep.neg().add(1f), config.attentionMaskBias());
        NDArray x = embeddingBlock.forward(ps, new NDList(ids, types), training).head();
        if (children.size() == 1) {
            x.setName(OUTPUT_NAME);
            return new NDList(x);
        }
        return new NDList(x, maskBias);
    }

    private static NDArray indices(NDArray a, String name) {
        if (a.getShape().dimension() != 2) {
            throw new IllegalArgumentException(name + " must be (N, T), got " + a.getShape());
        }
        DataType t = a.getDataType();
        if (t == DataType.INT64) {
            return a;
        }
        if (t == DataType.INT32) {
            return a.toType(DataType.INT64, false);
        }
        throw new IllegalArgumentException(name + " must be INT64 or INT32, got " + t);
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        embeddings.initialize(manager, dataType, ids, ids);
        Shape hidden = ids.addAll(new Shape(config.hiddenSize()));
        Shape mask = new Shape(ids.get(0), 1, 1, ids.get(1));
        for (int i = 1; i < children.size(); i++) {
            children.valueAt(i).initialize(manager, dataType, hidden, mask);
        }
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].addAll(new Shape(config.hiddenSize()))};
    }

    /**
     * The parameters under their Hugging Face names ({@code embeddings.word_embeddings.weight},
     * {@code encoder.layer.0.attention.self.query.weight}, …), for loading a checkpoint into the
     * float model. Linear weights are DJL's {@code (out, in)}.
     *
     * @return name to parameter, in registration order
     * @throws IllegalStateException when a layer has been replaced by a block of another kind
     */
    public Map<String, Parameter> checkpointParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        out.putAll(((BertEmbeddings) embeddings).checkpointParameters("embeddings."));
        for (int i = 1; i < children.size(); i++) {
            Block layer = children.valueAt(i);
            if (!(layer instanceof BertLayer)) {
                throw new IllegalStateException(
                        "child "
                                + children.keyAt(i)
                                + " is a "
                                + layer.getClass().getName()
                                + ", not a BertLayer");
            }
            out.putAll(((BertLayer) layer).checkpointParameters("encoder.layer." + (i - 1) + '.'));
        }
        return out;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "BertEncoder(" + config + ')';
    }
}
