package ai.djl.nupes.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/** A frozen {@link Conv2d}: packed integer codes, scales, exponent(s) and a float bias. */
public final class FrozenConv2d extends Conv2d implements FrozenLayer {

    private final FrozenWeights frozen;

    FrozenConv2d(FrozenWeights.Builder b) {
        super(copyOf((Conv2d) b.template(), b.hasBias()));
        parameters.clear();
        this.frozen = b.build();
        for (Parameter p : frozen.parameters()) {
            addParameter(p);
        }
    }

    private static Conv2d.Builder copyOf(Conv2d t, boolean bias) {
        return Conv2d.builder()
                .setKernelShape(t.getKernelShape())
                .setFilters(t.getFilters())
                .optStride(t.getStride())
                .optPadding(t.getPadding())
                .optDilation(t.getDilation())
                .optGroups(t.getGroups())
                .optBias(bias);
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
    protected void prepare(Shape[] inputShapes) {}

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
        return "FrozenConv2d(" + frozen.getPath() + ", " + frozen.getSpec() + ')';
    }
}
