package ai.djl.nupes.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.util.PairList;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * A parameter store that answers some parameters with given arrays and every other from the store
 * it wraps. This is how a quantized wrapper runs the float layer's own forward (stride, padding,
 * groups and all) on decoded weights without copying the layer's logic.
 */
final class SubstitutingParameterStore extends ParameterStore {

    private final ParameterStore delegate;
    private final Map<ai.djl.nn.Parameter, NDArray> replacements;

    SubstitutingParameterStore(ParameterStore delegate, Map<ai.djl.nn.Parameter, NDArray> replacements) {
        super(delegate.getManager(), false);
        this.delegate = delegate;
        this.replacements = replacements;
    }

    /**
     * Runs a weight layer's own forward with its {@code weight} (and, when given, its {@code bias})
     * answered by the given arrays.
     *
     * @param layer the layer, holding parameters named weight and (optionally) bias
     * @param ps the caller's store, answering every other parameter
     * @param inputs the inputs
     * @param training whether training
     * @param params extra parameters
     * @param weight the weight array to use
     * @param bias the bias array to use, or null to keep the layer's own
     * @return the outputs
     */
    static NDList forward(
            Block layer,
            ParameterStore ps,
            NDList inputs,
            boolean training,
            PairList<String, Object> params,
            NDArray weight,
            NDArray bias) {
        Map<ai.djl.nn.Parameter, NDArray> replacements = new IdentityHashMap<>();
        replacements.put(layer.getParameters().get("weight"), weight);
        ai.djl.nn.Parameter layerBias = layer.getParameters().get("bias");
        if (bias != null && layerBias != null) {
            replacements.put(layerBias, bias);
        }
        return layer.forward(new SubstitutingParameterStore(ps, replacements), inputs, training, params);
    }

    /** {@inheritDoc} */
    @Override
    public NDArray getValue(ai.djl.nn.Parameter parameter, Device device, boolean training) {
        NDArray replacement = parameter == null ? null : replacements.get(parameter);
        if (replacement != null) {
            return replacement;
        }
        return delegate.getValue(parameter, device, training);
    }

    /** {@inheritDoc} */
    @Override
    public void updateAllParameters() {
        delegate.updateAllParameters();
    }

    /** {@inheritDoc} */
    @Override
    public void sync() {
        delegate.sync();
    }
}
