package ai.djl.nupes.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/**
 * A parameter store that answers one parameter with a given array and every other from the store it
 * wraps. This is how a quantized wrapper runs the float layer's own forward (stride, padding,
 * groups and all) on decoded weights without copying the layer's logic.
 */
final class SubstitutingParameterStore extends ParameterStore {

    private final ParameterStore delegate;
    private final ai.djl.nn.Parameter target;
    private final NDArray replacement;

    SubstitutingParameterStore(
            ParameterStore delegate, ai.djl.nn.Parameter target, NDArray replacement) {
        super(delegate.getManager(), false);
        this.delegate = delegate;
        this.target = target;
        this.replacement = replacement;
    }

    /** {@inheritDoc} */
    @Override
    public NDArray getValue(ai.djl.nn.Parameter parameter, Device device, boolean training) {
        if (parameter == target) {
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
