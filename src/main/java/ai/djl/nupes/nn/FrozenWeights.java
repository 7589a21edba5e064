package ai.djl.nupes.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.format.BitPacker;
import ai.djl.nupes.integer.IntegerLayer;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.ExponentRange;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.nupes.format.Checksums;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The frozen form of one layer and its decoder.
 *
 * <p>Parameters, in save order: {@code codes} (UINT8, the code offsets {@code index - minCode}
 * packed by {@link BitPacker}), {@code scales} (FLOAT32, the channel maxima m), {@code exponents}
 * (FLOAT32, one or one per channel) and, when the layer has one, {@code bias} (FLOAT32).
 *
 * <p>Decoding is a gather: a table holds, for every output channel and every code, the decoded
 * value {@code sign(c)·m·(|c|/D)^(1/a)} computed exactly as the in-memory quantizer computes it
 * ({@link PowerQuantizer#levels}), so frozen and in-memory weights are bit-identical (which matters
 * once inputs are quantized: a one-ulp difference upstream can flip an input code). By default the
 * decoded weights are cached after loading; {@link DecodeMode#EACH_FORWARD} keeps only the codes
 * (one byte per weight) and decodes on every forward.
 */
public final class FrozenWeights {

    /** When frozen weights are decoded. */
    public enum DecodeMode {
        /** Once, after loading; the decoded float weights stay in memory (fast). */
        CACHED,
        /** On every forward, from one byte per weight (small at rest). */
        EACH_FORWARD
    }

    /** Which arithmetic a frozen layer runs. */
    public enum ExecutionPath {
        /** Decoded float weights, fake-quantized float inputs, the engine's matMul/convolution. */
        FLOAT,
        /**
         * Integer codes of weights and inputs through {@link IntegerLayer} (pure Java, on the
         * host): needs quantized inputs, one exponent per layer, and a Linear or 1-/2-d
         * convolution.
         */
        INTEGER
    }

    /** What the loader checks against: the manifest's record of one layer. */
    public record Expected(String file, Map<String, String> sha256) {}

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
    private ExecutionPath executionPath = ExecutionPath.FLOAT;
    private IntegerLayer integerLayer;
    private Consumer<NDArray> inputListener;
    private NDArray table;
    private NDArray indices;
    private NDArray rowBase;
    private NDArray decoded;

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
            if (Wrappers.isQuantizable(template)) {
                return new FrozenWeightBlock(this);
            }
            throw new IllegalArgumentException(
                    "layer '" + path + "' (" + template.getClass().getName() + ") cannot be frozen");
        }
    }

    private FrozenWeights(
            String path,
            Block template,
            QuantizerSpec spec,
            long[] shape,
            boolean hasBias,
            DecodeMode mode) {
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
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.OTHER)
                .optRequiresGrad(false)
                .build();
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
        byte[] indexCodes = q.getCodes();
        int[] offsets = new int[indexCodes.length];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = indexCodes[i] - spec.minCode();
        }
        byte[] packed = BitPacker.pack(offsets, spec.getBits());
        set(codes, manager.create(ByteBuffer.wrap(packed), new Shape(packed.length), DataType.UINT8));
        set(scales, manager.create(q.getMaxima()));
        set(exponents, manager.create(q.getExponents()));
        if (bias != null) {
            set(bias, floatBias.toType(DataType.FLOAT32, true));
        }
        prepareDecoder(manager);
    }

    private static void set(Parameter p, NDArray array) {
        p.setArray(array);
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
     * Why this layer cannot run the integer path, or null when it can.
     *
     * @return the reason, or null
     */
    public String integerPathUnsupported() {
        if (inputQuantizer == null) {
            return "its inputs are not quantized (quantize with activation bits to run integer-only)";
        }
        if (spec.getExponentGranularity() != Granularity.PER_TENSOR) {
            return "it has one exponent per channel; inputs and weights must share one exponent";
        }
        if (template instanceof Linear) {
            return null;
        }
        if (template instanceof Convolution c && c.getKernelShape().dimension() <= 2) {
            return null;
        }
        return template.getClass().getSimpleName() + " layers have no integer kernel (Linear, Conv1d, Conv2d do)";
    }

    /**
     * Chooses the arithmetic of this layer's forward.
     *
     * @param path the path
     * @throws IllegalStateException when the integer path is asked for and the layer cannot run it
     */
    public void setExecutionPath(ExecutionPath path) {
        if (path == ExecutionPath.INTEGER) {
            requireIntegerPath();
        }
        this.executionPath = path;
    }

    /**
     * Returns the arithmetic of this layer's forward.
     *
     * @return the path
     */
    public ExecutionPath getExecutionPath() {
        return executionPath;
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
     * Sets what loading checks the parameters against.
     *
     * @param expected the params file name and the SHA-256 of each parameter's bytes
     */
    public void expect(Expected expected) {
        this.expected = expected;
    }

    /**
     * Checks the loaded parameters and prepares decoding.
     *
     * @param manager the model's manager
     * @throws MalformedModelException naming the file and the tensor of the first problem
     */
    void afterLoad(NDManager manager) throws MalformedModelException {
        String file = expected == null ? "parameters" : expected.file();
        int count = count(shape);
        int channels = (int) shape[0];
        byte[] packed = codes.getArray().toByteArray();
        int need = BitPacker.packedLength(count, spec.getBits());
        if (packed.length != need) {
            throw malformed(file, "codes", packed.length + " bytes, expected ceil(" + count + "·"
                    + spec.getBits() + "/8) = " + need);
        }
        for (Parameter p : parameters()) {
            if (expected != null) {
                String want = expected.sha256().get(p.getName());
                String got = Checksums.sha256(p.getArray().toByteArray());
                if (want == null || !want.equals(got)) {
                    throw malformed(file, p.getName(), "checksum mismatch (sha256 " + got + ", manifest " + want + ')');
                }
            }
        }
        int maxOffset = spec.maxCode() - spec.minCode();
        for (int v : BitPacker.unpack(packed, count, spec.getBits())) {
            if (v > maxOffset) {
                throw malformed(file, "codes", "code offset " + v + " above " + maxOffset);
            }
        }
        float[] m = scales.getArray().toFloatArray();
        if (m.length != channels) {
            throw malformed(file, "scales", m.length + " values for " + channels + " channels");
        }
        for (int c = 0; c < m.length; c++) {
            if (!Float.isFinite(m[c]) || m[c] < 0f) {
                throw malformed(file, "scales", "channel " + c + " scale is " + m[c]);
            }
        }
        for (float a : exponents.getArray().toFloatArray()) {
            if (!(a >= ExponentRange.MIN && a <= ExponentRange.MAX)) {
                throw malformed(file, "exponents", "exponent " + a + " outside [" + ExponentRange.MIN
                        + ", " + ExponentRange.MAX + ']');
            }
        }
        prepareDecoder(manager);
    }

    private MalformedModelException malformed(String file, String tensor, String what) {
        return new MalformedModelException(file + ": layer '" + path + "' tensor '" + tensor + "': " + what);
    }

    private void prepareDecoder(NDManager manager) {
        float[] a = exponents.getArray().toFloatArray();
        float[] m = scales.getArray().toFloatArray();
        int channels = (int) shape[0];
        int levels = spec.maxCode() - spec.minCode() + 1;
        // one row per channel: table[c][k] = the decoded value of code offset k in channel c,
        // computed exactly as the in-memory quantizer decodes (PowerQuantizer.levels)
        float[] lut = new float[channels * levels];
        for (int c = 0; c < channels; c++) {
            float[] row = PowerQuantizer.levels(m[c], a.length == 1 ? a[0] : a[c], spec);
            System.arraycopy(row, 0, lut, c * levels, levels);
        }
        int count = count(shape);
        int[] offsets = BitPacker.unpack(codes.getArray().toByteArray(), count, spec.getBits());
        close();
        // built here, once per load, rather than racing on the first forward of several predictors
        integerLayer = executionPath == ExecutionPath.INTEGER ? buildIntegerLayer(offsets) : null;
        table = manager.create(lut);
        long[] rowShape = new long[shape.length];
        java.util.Arrays.fill(rowShape, 1);
        rowShape[0] = channels;
        long[] base = new long[channels];
        for (int c = 0; c < channels; c++) {
            base[c] = (long) c * levels;
        }
        rowBase = manager.create(base, new Shape(rowShape));
        byte[] small = new byte[count];
        for (int i = 0; i < count; i++) {
            small[i] = (byte) offsets[i];
        }
        indices = manager.create(ByteBuffer.wrap(small), new Shape(shape), DataType.UINT8);
        if (mode == DecodeMode.CACHED) {
            decoded = decode();
            indices.close();
            indices = null;
        }
    }

    /** ŵ = table[row(c) + offset]: a gather from the channel's row of decoded levels. */
    private NDArray decode() {
        NDArray index = indices.toType(DataType.INT64, false).add(rowBase);
        return table.get(index.flatten()).reshape(new Shape(shape));
    }

    /**
     * Runs the template layer's forward with the decoded weights and the stored bias.
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
        if (executionPath == ExecutionPath.INTEGER) {
            return new NDList(integerLayer().forward(inputs.head()));
        }
        return forwardFloat(ps, inputs, training, params);
    }

    /**
     * Runs one input through the chosen path, as the layer's forward would.
     *
     * @param ps the parameter store
     * @param input the layer input
     * @param path which arithmetic
     * @return the layer output
     */
    public NDArray forward(ParameterStore ps, NDArray input, ExecutionPath path) {
        if (path == ExecutionPath.INTEGER) {
            requireIntegerPath();
            return integerLayer().forward(input);
        }
        return forwardFloat(ps, new NDList(input), false, null).head();
    }

    private void requireIntegerPath() {
        String unsupported = integerPathUnsupported();
        if (unsupported != null) {
            throw new IllegalStateException("layer '" + path + "' cannot run the integer path: " + unsupported);
        }
    }

    /** The integer form: built at load on the integer path, on first use otherwise. */
    private IntegerLayer integerLayer() {
        if (integerLayer == null) {
            integerLayer = buildIntegerLayer(BitPacker.unpack(codes.getArray().toByteArray(), count(shape), spec.getBits()));
        }
        return integerLayer;
    }

    /** Integer codes, scales, bias, exponent and geometry from the stored tensors and the template. */
    private IntegerLayer buildIntegerLayer(int[] offsets) {
        int[] integerCodes = new int[offsets.length];
        for (int i = 0; i < offsets.length; i++) {
            integerCodes[i] = spec.getGrid().integerCode(offsets[i] + spec.minCode());
        }
        float[] m = scales.getArray().toFloatArray();
        float[] b = bias == null ? null : bias.getArray().toFloatArray();
        int d = spec.getGrid().denominator(spec.getBits());
        float a = exponents.getArray().getFloat(0);
        if (template instanceof Convolution c) {
            IntegerLayer.Geometry g =
                    new IntegerLayer.Geometry(
                            c.getKernelShape().getShape(),
                            c.getStride().getShape(),
                            c.getPadding().getShape(),
                            c.getDilation().getShape(),
                            c.getGroups());
            return IntegerLayer.convolution(path, integerCodes, shape, m, b, d, a, inputQuantizer, g);
        }
        return IntegerLayer.linear(path, integerCodes, shape, m, b, d, a, inputQuantizer);
    }

    private NDList forwardFloat(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ai.djl.Device device = inputs.head().getDevice();
        NDArray w;
        if (decoded != null) {
            w = LayerQuantizer.onDevice(decoded, device, ps);
        } else {
            w = decode();
            w.attach(ps.getManager());
            w = LayerQuantizer.onDevice(w, device, ps);
        }
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

    /**
     * SHA-256 of each parameter's bytes, for the manifest.
     *
     * @return parameter name → hex digest
     */
    public Map<String, String> checksums() {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (Parameter p : parameters()) {
            out.put(p.getName(), Checksums.sha256(p.getArray().toByteArray()));
        }
        return out;
    }

    private void close() {
        for (NDArray x : new NDArray[] {table, indices, rowBase, decoded}) {
            if (x != null) {
                x.close();
            }
        }
        table = null;
        indices = null;
        rowBase = null;
        decoded = null;
    }

    private static int count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return Math.toIntExact(n);
    }
}
