package ai.djl.nupes.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nupes.format.Checksums;
import ai.djl.nupes.format.FrozenCodec;
import ai.djl.nupes.format.FrozenLayerData;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * What a frozen layer does at run time: holds its stored tensors as parameters ({@code codes},
 * {@code scales}, {@code exponents} and, when the layer has one, {@code bias}, in that save order;
 * the layout is {@link FrozenCodec}'s), checks them once loaded, and runs the layer's own forward
 * on the decoded weights ({@link FrozenDecoder}) or, when one is installed, on a kernel of its own
 * (the integer path).
 */
public final class FrozenWeights {

    /** When frozen weights are decoded. */
    public enum DecodeMode {
        /** Once, after loading; the decoded float weights stay in memory (fast). */
        CACHED,
        /** On every forward, from one byte per weight (small at rest). */
        EACH_FORWARD
    }

    /**
     * What loading checks the stored tensors against.
     *
     * @param file the parameter file, named in errors
     * @param exponents the manifest's exponents of this layer
     * @param sha256 the SHA-256 of each tensor's bytes (format version 1), or null
     */
    public record Expected(String file, float[] exponents, Map<String, String> sha256) {}

    private final String path;
    private final Block template;
    private final QuantizerSpec spec;
    private final long[] shape;
    private final Parameter codes;
    private final Parameter scales;
    private final Parameter exponents;
    private final Parameter bias;
    private final DecodeMode mode;
    private Expected expected;
    private InputQuantizer inputQuantizer;
    private Function<FrozenLayerData, UnaryOperator<NDArray>> kernelFactory;
    private UnaryOperator<NDArray> kernel;
    private Consumer<NDArray> inputListener;
    private FrozenDecoder decoder;

    /**
     * Describes a frozen layer to build.
     *
     * @param path the layer's path in the block tree
     * @param template a float layer of the same structure (its parameters are never read)
     * @param spec bits and grid
     * @param shape the weight shape
     * @param hasBias whether the layer has a bias
     * @param mode when to decode
     */
    public record Builder(
            String path, Block template, QuantizerSpec spec, long[] shape, boolean hasBias, DecodeMode mode) {

        FrozenWeights build() {
            return new FrozenWeights(path, template, spec, shape, hasBias, mode);
        }

        /**
         * Builds the frozen block that fits the template: a {@code Linear} or {@code Conv2d}
         * subclass where possible, a plain block otherwise.
         *
         * @return the frozen layer, parameters unset
         */
        public FrozenLayer newBlock() {
            if (template.getClass() == ai.djl.nn.core.Linear.class) {
                return new FrozenLinear(this);
            }
            if (template.getClass() == ai.djl.nn.convolutional.Conv2d.class) {
                return new FrozenConv2d(this);
            }
            if (Wrappers.isQuantizable(template) || template.getChildren().isEmpty()) { // a weight layer or a table
                return new FrozenWeightBlock(this);
            }
            throw new IllegalArgumentException(
                    "layer '" + path + "' (" + template.getClass().getName() + ") cannot be frozen");
        }
    }

    private FrozenWeights(
            String path, Block template, QuantizerSpec spec, long[] shape, boolean hasBias, DecodeMode mode) {
        this.path = path;
        this.template = template;
        this.spec = spec;
        this.shape = shape.clone();
        this.mode = mode;
        // shapes come from the file on load, or from the arrays on export
        this.codes = parameter("codes");
        this.scales = parameter("scales");
        this.exponents = parameter("exponents");
        this.bias = hasBias ? parameter("bias") : null;
    }

    private static Parameter parameter(String name) {
        return Parameter.builder().setName(name).setType(Parameter.Type.OTHER).optRequiresGrad(false).build();
    }

    Parameter[] parameters() {
        return bias == null
                ? new Parameter[] {codes, scales, exponents}
                : new Parameter[] {codes, scales, exponents, bias};
    }

    /**
     * Fills the parameters from an in-memory quantized layer (export) and prepares decoding.
     *
     * @param q the integer form
     * @param floatBias the float bias array, or null
     * @param manager where the arrays live
     */
    public void fill(QuantizedWeights q, NDArray floatBias, NDManager manager) {
        byte[] packed = FrozenCodec.packCodes(q);
        codes.setArray(manager.create(ByteBuffer.wrap(packed), new Shape(packed.length), DataType.UINT8));
        scales.setArray(manager.create(q.getMaxima()));
        exponents.setArray(manager.create(q.getExponents()));
        if (bias != null) {
            bias.setArray(floatBias.toType(DataType.FLOAT32, true));
        }
        prepare(manager, data());
    }

    /**
     * Quantizes the layer's inputs with the stored exponent (one per layer); null for float inputs.
     *
     * @param quantizer the input quantizer
     */
    public void setInputQuantizer(InputQuantizer quantizer) {
        this.inputQuantizer = quantizer;
    }

    /**
     * Returns the input quantizer, or null for float inputs.
     *
     * @return the input quantizer
     */
    public InputQuantizer getInputQuantizer() {
        return inputQuantizer;
    }

    /**
     * Runs the layer on a kernel of its own, built once the tensors are loaded and checked (the
     * integer path); null keeps the float path.
     *
     * @param factory builds the kernel from the layer's stored values
     */
    public void setKernelFactory(Function<FrozenLayerData, UnaryOperator<NDArray>> factory) {
        this.kernelFactory = factory;
    }

    /**
     * Whether the forward pass runs an installed kernel rather than the float path.
     *
     * @return true on the integer path
     */
    public boolean runsKernel() {
        return kernel != null;
    }

    /**
     * Sees every input this layer receives, before it is quantized (for checks and diagnostics).
     *
     * @param listener the listener, or null
     */
    public void setInputListener(Consumer<NDArray> listener) {
        this.inputListener = listener;
    }

    /**
     * Sets what loading checks the tensors against.
     *
     * @param expected the file, the manifest's exponents, and (format 1) per-tensor checksums
     */
    public void expect(Expected expected) {
        this.expected = expected;
    }

    /**
     * Checks the loaded tensors and prepares decoding (and the kernel, when a factory is set).
     *
     * @param manager the model's manager
     * @throws MalformedModelException naming the file, the layer and the tensor of the first problem
     */
    void afterLoad(NDManager manager) throws MalformedModelException {
        String file = expected == null ? "parameters" : expected.file();
        try {
            if (expected != null && expected.sha256() != null) {
                for (Parameter p : parameters()) {
                    String want = expected.sha256().get(p.getName());
                    String got = Checksums.sha256(p.getArray().toByteArray());
                    if (!got.equals(want)) {
                        throw new IllegalArgumentException("tensor '" + p.getName() + "': checksum mismatch (sha256 "
                                + got + ", manifest " + want + ')');
                    }
                }
            }
            FrozenLayerData data = data();
            FrozenCodec.checkScales(data.scales(), shape, spec);
            FrozenCodec.checkExponents(data.exponents(), shape, spec, expected == null ? null : expected.exponents());
            if (bias != null && bias.getArray().size() != shape[0]) {
                throw new IllegalArgumentException(
                        "tensor 'bias': " + bias.getArray().size() + " values for " + shape[0] + " output channels");
            }
            prepare(manager, data);
            kernel = kernelFactory == null ? null : kernelFactory.apply(data);
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException(file + ": layer '" + path + "' " + e.getMessage(), e);
        }
    }

    /**
     * The stored values, unpacked and checked.
     *
     * @return codes, scales, exponents, bias and input quantizer
     * @throws IllegalArgumentException naming the tensor when the codes do not fit the layer
     */
    public FrozenLayerData data() {
        int[] offsets = FrozenCodec.unpackCodes(codes.getArray().toByteArray(), shape, spec);
        float[] b = bias == null ? null : bias.getArray().toType(DataType.FLOAT32, false).toFloatArray();
        return new FrozenLayerData(
                path,
                spec,
                shape.clone(),
                offsets,
                scales.getArray().toFloatArray(),
                exponents.getArray().toFloatArray(),
                b,
                inputQuantizer);
    }

    private void prepare(NDManager manager, FrozenLayerData data) {
        if (decoder != null) {
            decoder.close();
        }
        decoder = new FrozenDecoder(
                manager, shape, spec, data.codeOffsets(),
                FrozenCodec.levelTable(spec, data.scales(), data.exponents(), (int) shape[0]), mode);
    }

    /**
     * Runs the installed kernel, or the template layer's forward with the decoded weights.
     *
     * @param ps the parameter store
     * @param inputs the inputs
     * @param training whether training
     * @param params extra parameters
     * @return the outputs
     */
    NDList forward(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        if (inputListener != null) {
            inputListener.accept(inputs.head());
        }
        if (kernel != null) {
            return new NDList(kernel.apply(inputs.head()));
        }
        return forwardFloat(ps, inputs, training, params);
    }

    /**
     * Runs one input through the float path (decoded weights, fake-quantized inputs, the engine's
     * own layer), whichever path the layer's forward takes.
     *
     * @param ps the parameter store
     * @param input the layer input
     * @return the layer output
     */
    public NDArray forwardFloat(ParameterStore ps, NDArray input) {
        return forwardFloat(ps, new NDList(input), false, null).head();
    }

    private NDList forwardFloat(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ai.djl.Device device = inputs.head().getDevice();
        NDArray w = decoder.weights(ps, device);
        if (inputQuantizer != null) {
            NDArray a = ps.getManager().create(exponents.getArray().getFloat(0));
            inputs = new NDList(inputQuantizer.apply(inputs.head(), a));
        }
        NDArray b = bias == null ? null : LayerQuantizer.onDevice(bias.getArray(), device, ps);
        return SubstitutingParameterStore.forward(template, ps, inputs, training, params, w, b);
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
     * Returns the quantizer spec.
     *
     * @return bits and grid
     */
    public QuantizerSpec getSpec() {
        return spec;
    }

    /**
     * Returns the template layer (its parameters are never used).
     *
     * @return the float layer structure
     */
    public Block getTemplate() {
        return template;
    }

    /**
     * Returns the packed code bytes.
     *
     * @return the bytes
     */
    public byte[] packedCodes() {
        return codes.getArray().toByteArray();
    }
}
