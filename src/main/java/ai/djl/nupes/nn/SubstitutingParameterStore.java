package ai.djl.nupes.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

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
