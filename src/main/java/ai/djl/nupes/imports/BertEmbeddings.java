package ai.djl.nupes.imports;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * BERT's input embeddings: {@code LayerNorm(word[ids] + tokenType[types] + position[0..T-1])}.
 *
 * <p>Input {@code NDList(input_ids, token_type_ids)}, integer {@code (N, T)}; output {@code (N, T,
 * hidden)}.
 */
public final class BertEmbeddings extends AbstractBlock {

    private static final byte VERSION = 1;

    private final int maxPositions;
    private final int hiddenSize;
    private Block word;
    private Block tokenType;
    private Block position;
    private Block layerNorm;

    /**
     * Creates the embeddings of a config.
     *
     * @param config the architecture
     */
    public BertEmbeddings(BertConfig config) {
        super(VERSION);
        this.maxPositions = config.maxPositions();
        this.hiddenSize = config.hiddenSize();
        // registered in the order the forward pass uses them
        word = addChildBlock("word", new TokenEmbedding(config.vocabSize(), hiddenSize));
        tokenType =
                addChildBlock("tokenType", new TokenEmbedding(config.typeVocabSize(), hiddenSize));
        position = addChildBlock("position", new TokenEmbedding(maxPositions, hiddenSize));
        layerNorm = addChildBlock("layerNorm", BertLayer.layerNorm(config));
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        NDArray types = inputs.get(1);
        long tokens = ids.getShape().get(1);
        if (tokens > maxPositions) {
            throw new IllegalArgumentException(
                    "input of "
                            + tokens
                            + " tokens is longer than the "
                            + maxPositions
                            + " positions this encoder has");
        }
        NDManager manager = ids.getManager();
        NDArray positions = manager.arange(0, (int) tokens, 1, DataType.INT64).reshape(1, tokens);
        NDArray x =
                word.forward(ps, new NDList(ids), training)
                        .head()
                        .add(tokenType.forward(ps, new NDList(types), training).head())
                        .add(position.forward(ps, new NDList(positions), training).head());
        return layerNorm.forward(ps, new NDList(x), training);
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        word.initialize(manager, dataType, ids);
        tokenType.initialize(manager, dataType, ids);
        position.initialize(manager, dataType, new Shape(1, ids.get(1)));
        layerNorm.initialize(manager, dataType, ids.addAll(new Shape(hiddenSize)));
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].addAll(new Shape(hiddenSize))};
    }

    /**
     * The parameters under their Hugging Face names.
     *
     * @param prefix prepended to every name, e.g. {@code embeddings.}
     * @return name to parameter, in registration order
     */
    Map<String, Parameter> checkpointParameters(String prefix) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        out.put(prefix + "word_embeddings.weight", word.getParameters().get("weight"));
        out.put(prefix + "token_type_embeddings.weight", tokenType.getParameters().get("weight"));
        out.put(prefix + "position_embeddings.weight", position.getParameters().get("weight"));
        out.put(prefix + "LayerNorm.weight", layerNorm.getParameters().get("gamma"));
        out.put(prefix + "LayerNorm.bias", layerNorm.getParameters().get("beta"));
        return out;
    }
}
