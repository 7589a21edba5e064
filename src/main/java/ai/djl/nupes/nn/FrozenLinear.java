package ai.djl.nupes.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * A frozen {@link Linear}: packed integer codes, scales, exponent(s) and a float bias. A {@code
 * Linear} so that typed fields (DJL's attention projections) can hold it.
 */
public final class FrozenLinear extends Linear implements FrozenLayer {

    private final FrozenWeights frozen;

    FrozenLinear(FrozenWeights.Builder b) {
        super(Linear.builder().setUnits(b.shape()[0]).optBias(b.hasBias()));
        parameters.clear();
        this.frozen = b.build();
        for (Parameter p : frozen.parameters()) {
            addParameter(p);
        }
    }

    /** {@inheritDoc} */
    @Override
    public FrozenWeights getFrozenWeights() {
        return frozen;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return frozen.forward(ps, inputs, training, params);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        return frozen.getTemplate().getOutputShapes(inputs);
    }

    /** {@inheritDoc} */
    @Override
    protected void beforeInitialize(Shape... inputShapes) {
        this.inputShapes = inputShapes;
    }

    /** {@inheritDoc} */
    @Override
    public void prepare(Shape[] inputShapes) {}

    /** {@inheritDoc} */
    @Override
    protected void saveMetadata(DataOutputStream os) {}

    /** {@inheritDoc} */
    @Override
    public void loadMetadata(byte loadVersion, DataInputStream is) {}

    /** {@inheritDoc} */
    @Override
    public void loadParameters(NDManager manager, DataInputStream is)
            throws IOException, MalformedModelException {
        super.loadParameters(manager, is);
        frozen.afterLoad(manager);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "FrozenLinear(" + frozen.getPath() + ", " + frozen.getSpec() + ')';
    }
}
