package ai.djl.nupes.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * A frozen layer for weight layers that cannot be subclassed from outside DJL (Conv1d) and for
 * weight tables (embeddings).
 */
public final class FrozenWeightBlock extends AbstractBlock implements FrozenLayer {

    private static final byte VERSION = 1;

    private final FrozenWeights frozen;

    FrozenWeightBlock(FrozenWeights.Builder b) {
        super(VERSION);
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
    protected void saveMetadata(DataOutputStream os) {
        // the architecture is rebuilt from the manifest: no input shapes are stored
    }

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
        return "FrozenWeightBlock(" + frozen.getPath() + ", " + frozen.getSpec() + ')';
    }
}
