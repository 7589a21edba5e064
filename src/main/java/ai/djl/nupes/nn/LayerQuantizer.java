package ai.djl.nupes.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * The quantization state of one wrapped layer: its spec, its current integer form, and the decoded
 * weights the forward pass uses.
 *
 * <p>Disabled (or not yet quantized), the float layer's forward sees its own float weight and the
 * outputs are bit-identical to the float model's; enabled, it sees the cached decoded weights of
 * {@link #getQuantizedWeights()}. Calibration runs the layer on its own weight arrays through
 * {@link #forwardWith}.
 */
public final class LayerQuantizer {

    private final String path;
    private final Block floatLayer;
    private final Parameter weight;
    private final LayerSettings settings;
    private final QuantizerSpec spec;
    private QuantizedWeights quantized;
    private NDArray decoded;
    private boolean enabled = true;
    private Consumer<NDList> inputListener;
    private NDArray trainingWeights;
    private InputQuantizer inputQuantizer;

    /**
     * Creates the state for a float layer that holds a parameter named {@code weight}.
     *
     * @param path the layer's path in the block tree
     * @param floatLayer the layer
     * @param settings the layer's quantization settings
     */
    public LayerQuantizer(String path, Block floatLayer, LayerSettings settings) {
        this.path = Objects.requireNonNull(path, "path");
        this.floatLayer = Objects.requireNonNull(floatLayer, "floatLayer");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.spec = settings.weights();
        Parameter w = floatLayer.getParameters().get("weight");
        if (w == null) {
            throw new IllegalArgumentException(
                    "layer '" + path + "' (" + floatLayer.getClass().getSimpleName()
                            + ") has no parameter named 'weight'");
        }
        this.weight = w;
    }

    /**
     * Returns the layer's path.
     *
     * @return the path
     */
    public String getPath() {
        return path;
    }

    /**
     * Returns the float layer.
     *
     * @return the layer
     */
    public Block getFloatLayer() {
        return floatLayer;
    }

    /**
     * Returns the float weight parameter.
     *
     * @return the parameter
     */
    public Parameter getWeightParameter() {
        return weight;
    }

    /**
     * Returns the float bias parameter, or null when the layer has none.
     *
     * @return the bias or null
     */
    public Parameter getBiasParameter() {
        return floatLayer.getParameters().get("bias");
    }

    /**
     * Returns the spec.
     *
     * @return the spec
     */
    public QuantizerSpec getSpec() {
        return spec;
    }

    /**
     * Returns the layer's complete settings (weight quantizer and input bits).
     *
     * @return the settings
     */
    public LayerSettings getSettings() {
        return settings;
    }

    /**
     * Returns the float weights as a Java array, row-major.
     *
     * @return a copy of the float weights
     * @throws IllegalStateException when the layer is not initialized
     */
    public float[] floatWeights() {
        if (!weight.isInitialized()) {
            throw new IllegalStateException(
                    "layer '" + path + "': weights are not initialized; load or initialize the"
                            + " model before quantizing");
        }
        NDArray array = weight.getArray();
        if (array.getDataType() != DataType.FLOAT32) {
            return array.toType(DataType.FLOAT32, false).toFloatArray();
        }
        return array.toFloatArray();
    }

    /**
     * Returns the weight shape.
     *
     * @return the shape
     */
    public Shape weightShape() {
        return weight.getArray().getShape();
    }

    /**
     * Quantizes the float weights with the given exponent(s) and makes the forward pass use them.
     *
     * @param exponents one exponent, or one per output channel
     * @return the integer form
     */
    public QuantizedWeights quantize(float... exponents) {
        QuantizedWeights q =
                PowerQuantizer.quantize(
                        path, floatWeights(), weightShape().getShape(), spec, exponents);
        setQuantizedWeights(q);
        return q;
    }

    /**
     * Installs an integer form (from a search, from calibration or from a file) and caches its
     * decoded weights next to the float weights.
     *
     * @param q the integer form; its shape must match the layer
     */
    public void setQuantizedWeights(QuantizedWeights q) {
        Shape shape = weightShape();
        if (!shape.equals(new Shape(q.getShape()))) {
            throw new IllegalArgumentException(
                    "layer '" + path + "': quantized shape " + new Shape(q.getShape())
                            + " does not match weight shape " + shape);
        }
        NDArray fresh = weight.getArray().getManager().create(q.decode(), shape);
        clearQuantized();
        this.quantized = q;
        this.decoded = fresh;
    }

    /**
     * Returns the current integer form, or null before quantization.
     *
     * @return the integer form or null
     */
    public QuantizedWeights getQuantizedWeights() {
        return quantized;
    }

    /**
     * Returns the cached decoded weights, or null before quantization.
     *
     * @return the decoded weights
     */
    public NDArray getDecodedWeights() {
        return decoded;
    }

    /**
     * Whether the forward pass uses quantized weights.
     *
     * @return true when enabled
     */
    public boolean isEnabled() {
        return enabled;
    }

    /**
     * Switches quantization on or off; off gives the float layer's exact outputs.
     *
     * @param enabled the switch
     */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /**
     * Makes the forward pass, while enabled, run on these weights instead of the installed codes (a
     * reconstruction learning several layers through one forward pass sets each layer's
     * fake-quantized weights, which carry the gradient); null returns to the codes. The bias is the
     * float layer's, held constant.
     *
     * @param weights the weights, the float weight's shape, or null
     * @throws IllegalStateException naming the layer when its inputs are quantized
     */
    public void setTrainingWeights(NDArray weights) {
        if (weights != null && inputQuantizer != null) {
            throw new IllegalStateException("layer '" + path + "': training weights replace weights only; the layer"
                    + " also quantizes its inputs");
        }
        this.trainingWeights = weights;
    }

    /**
     * Hands every input this layer sees to a listener before the layer runs (calibration captures
     * layer inputs this way); null removes it. The listener may throw to stop the forward pass.
     *
     * @param listener the listener
     */
    public void setInputListener(Consumer<NDList> listener) {
        this.inputListener = listener;
    }

    /**
     * Quantizes this layer's inputs (with the layer's exponent) when enabled; null for float
     * inputs.
     *
     * @param quantizer the input quantizer
     * @throws IllegalStateException when the layer has per-channel exponents, which inputs cannot
     *     share
     */
    public void setInputQuantizer(InputQuantizer quantizer) {
        if (quantizer != null && spec.getExponentGranularity() == Granularity.PER_CHANNEL) {
            throw new IllegalStateException(
                    "layer '" + path + "': inputs cannot share per-channel exponents; use one exponent per layer"
                            + " with activation quantization");
        }
        this.inputQuantizer = quantizer;
    }

    /**
     * Returns the input quantizer, or null.
     *
     * @return the input quantizer
     */
    public InputQuantizer getInputQuantizer() {
        return inputQuantizer;
    }

    /**
     * Runs the float layer with the given weight array in place of its weight, and its bias cut
     * from any gradient graph: the calibration forward.
     *
     * @param ps the caller's parameter store
     * @param inputs the inputs
     * @param weightArray the weights to use
     * @return the outputs
     */
    public NDList forwardWith(ParameterStore ps, NDList inputs, NDArray weightArray) {
        Parameter bias = getBiasParameter();
        NDArray detachedBias = bias == null ? null : bias.getArray().stopGradient();
        return SubstitutingParameterStore.forward(floatLayer, ps, inputs, false, null, weightArray, detachedBias);
    }

    /**
     * Runs the float layer on the weights the current mode selects.
     *
     * @param ps the caller's parameter store
     * @param inputs the inputs
     * @param training whether this is a training pass
     * @param params extra parameters
     * @return the outputs
     */
    public NDList forward(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        if (inputListener != null) {
            inputListener.accept(inputs);
        }
        if (!enabled) {
            return floatLayer.forward(ps, inputs, training, params);
        }
        if (trainingWeights != null) {
            return forwardWith(ps, inputs, trainingWeights);
        }
        Device device = inputs.head().getDevice();
        NDArray w;
        if (decoded != null) {
            w = onDevice(decoded, device, ps);
        } else {
            return floatLayer.forward(ps, inputs, training, params);
        }
        if (inputQuantizer != null) {
            NDArray a = ps.getManager().create(quantized.getExponents()[0]);
            inputs = new NDList(inputQuantizer.apply(inputs.head(), a));
        }
        return SubstitutingParameterStore.forward(floatLayer, ps, inputs, training, params, w, null);
    }

    /**
     * Returns the array on the input's device; a copy, when one is needed, belongs to the forward
     * pass's manager so that it is freed with it.
     */
    static NDArray onDevice(NDArray array, Device device, ParameterStore ps) {
        if (array.getDevice().equals(device)) {
            return array;
        }
        NDArray moved = array.toDevice(device, false);
        moved.attach(ps.getManager());
        return moved;
    }

    /** Drops the integer form and frees the decoded cache. */
    public void clearQuantized() {
        if (decoded != null) {
            decoded.close();
            decoded = null;
        }
        quantized = null;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        String state = quantized == null ? "not quantized" : quantized.toString();
        return path + " [" + spec + ", " + (enabled ? "enabled" : "disabled") + ", " + state + ']';
    }
}
