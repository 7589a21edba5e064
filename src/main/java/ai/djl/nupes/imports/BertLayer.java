package ai.djl.nupes.imports;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nupes.autograd.Scalars;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One Hugging Face BERT encoder layer (post-LayerNorm):
 *
 * <pre>
 * a = LayerNorm(attentionOutput(softmax(Q Kᵀ / √d + maskBias) V) + x)
 * y = LayerNorm(output(gelu(intermediate(a))) + a)
 * </pre>
 *
 * with {@code Q, K, V = query(x), key(x), value(x)} split into heads of size {@code d} and {@code
 * gelu(z) = 0.5 z (1 + erf(z / √2))}.
 *
 * <p>Input {@code NDList(x, maskBias)}: hidden states {@code (N, T, hidden)} and the additive mask
 * {@code (N, 1, 1, T)}; output {@code NDList(y)}. The six {@link Linear} children are registered in
 * the order the forward pass first uses them ({@code query, key, value, attentionOutput,
 * intermediate, output}) and are called through the fields that hold them, so a child replaced by
 * reflection (list entry and field) is the one that runs.
 */
public final class BertLayer extends AbstractBlock {

    private static final byte VERSION = 1;

    private final int hiddenSize;
    private final int numHeads;
    private final int intermediateSize;
    private Block query;
    private Block key;
    private Block value;
    private Block attentionOutput;
    private Block attentionLayerNorm;
    private Block intermediate;
    private Block output;
    private Block outputLayerNorm;

    /**
     * Creates a layer of a config.
     *
     * @param config the architecture
     */
    public BertLayer(BertConfig config) {
        super(VERSION);
        this.hiddenSize = config.hiddenSize();
        this.numHeads = config.numHeads();
        this.intermediateSize = config.intermediateSize();
        query = addChildBlock("query", linear(hiddenSize));
        key = addChildBlock("key", linear(hiddenSize));
        value = addChildBlock("value", linear(hiddenSize));
        attentionOutput = addChildBlock("attentionOutput", linear(hiddenSize));
        attentionLayerNorm = addChildBlock("attentionLayerNorm", layerNorm(config));
        intermediate = addChildBlock("intermediate", linear(intermediateSize));
        output = addChildBlock("output", linear(hiddenSize));
        outputLayerNorm = addChildBlock("outputLayerNorm", layerNorm(config));
    }

    /**
     * A LayerNorm over the last axis of {@code (N, T, hidden)} with the config's epsilon.
     *
     * @param config the architecture
     * @return the block
     */
    static LayerNorm layerNorm(BertConfig config) {
        // axis 2 of (N, T, H): DJL's default (no axis) would normalize over (T, H)
        return LayerNorm.builder().axis(2).optEpsilon(config.layerNormEps()).build();
    }

    private static Linear linear(int units) {
        return Linear.builder().setUnits(units).optBias(true).build();
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray maskBias = inputs.get(1);
        long batch = x.getShape().get(0);
        long tokens = x.getShape().get(1);
        int headSize = hiddenSize / numHeads;

        // (N, T, H) -> (N, T, heads, d) -> (N, heads, T, d); keys -> (N, heads, d, T)
        NDArray q = apply(query, x, ps, training).reshape(batch, tokens, numHeads, headSize);
        NDArray k = apply(key, x, ps, training).reshape(batch, tokens, numHeads, headSize);
        NDArray v = apply(value, x, ps, training).reshape(batch, tokens, numHeads, headSize);
        q = q.transpose(0, 2, 1, 3);
        k = k.transpose(0, 2, 3, 1);
        v = v.transpose(0, 2, 1, 3);

        // scores = Q Kᵀ / √d + maskBias, softmax over the keys
        NDArray scores = Scalars.div(q.matMul(k), (float) Math.sqrt(headSize)).add(maskBias);
        NDArray context = scores.softmax(-1).matMul(v);
        context = context.transpose(0, 2, 1, 3).reshape(batch, tokens, hiddenSize);

        NDArray attended =
                apply(
                        attentionLayerNorm,
                        apply(attentionOutput, context, ps, training).add(x),
                        ps,
                        training);
        // gelu with erf: 0.5 z (1 + erf(z / √2)), the engine's exact (non-tanh) GELU
        NDArray hiddenFfn = Activation.gelu(apply(intermediate, attended, ps, training));
        NDArray y =
                apply(
                        outputLayerNorm,
                        apply(output, hiddenFfn, ps, training).add(attended),
                        ps,
                        training);
        return new NDList(y);
    }

    private static NDArray apply(Block block, NDArray x, ParameterStore ps, boolean training) {
        return block.forward(ps, new NDList(x), training).head();
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape hidden = inputShapes[0];
        Shape wide = hidden.slice(0, hidden.dimension() - 1).addAll(new Shape(intermediateSize));
        query.initialize(manager, dataType, hidden);
        key.initialize(manager, dataType, hidden);
        value.initialize(manager, dataType, hidden);
        attentionOutput.initialize(manager, dataType, hidden);
        attentionLayerNorm.initialize(manager, dataType, hidden);
        intermediate.initialize(manager, dataType, hidden);
        output.initialize(manager, dataType, wide);
        outputLayerNorm.initialize(manager, dataType, hidden);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /**
     * The parameters under their Hugging Face names.
     *
     * @param prefix prepended to every name, e.g. {@code encoder.layer.0.}
     * @return name to parameter, in registration order
     */
    Map<String, Parameter> checkpointParameters(String prefix) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        linearParameters(out, prefix + "attention.self.query", query);
        linearParameters(out, prefix + "attention.self.key", key);
        linearParameters(out, prefix + "attention.self.value", value);
        linearParameters(out, prefix + "attention.output.dense", attentionOutput);
        out.put(
                prefix + "attention.output.LayerNorm.weight",
                attentionLayerNorm.getParameters().get("gamma"));
        out.put(
                prefix + "attention.output.LayerNorm.bias",
                attentionLayerNorm.getParameters().get("beta"));
        linearParameters(out, prefix + "intermediate.dense", intermediate);
        linearParameters(out, prefix + "output.dense", output);
        out.put(prefix + "output.LayerNorm.weight", outputLayerNorm.getParameters().get("gamma"));
        out.put(prefix + "output.LayerNorm.bias", outputLayerNorm.getParameters().get("beta"));
        return out;
    }

    private static void linearParameters(Map<String, Parameter> out, String name, Block linear) {
        out.put(name + ".weight", linear.getParameters().get("weight"));
        out.put(name + ".bias", linear.getParameters().get("bias"));
    }
}
