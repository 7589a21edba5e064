package ai.djl.nupes.integer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.format.FrozenLayerData;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.QuantizerSpec;

import java.util.Arrays;

/**
 * One Linear or convolution layer run integer-only: its inputs are encoded to integer codes with the
 * layer's input quantizer (the same operations as the float path's fake quantization, so the codes
 * agree), then {@link IntegerKernels} multiply codes, map products through the layer's {@link
 * PowerProductTable} and rescale once per output channel.
 *
 * <p>Data crosses to the JVM and back: a reference for what the integer path computes, not a fast
 * path.
 */
public final class IntegerLayer {

    /**
     * Convolution geometry; 1 or 2 spatial axes (a 1-d convolution runs as a 2-d one of height 1).
     *
     * @param kernel kernel extent per spatial axis
     * @param stride stride per spatial axis
     * @param padding zero padding per spatial axis, each side
     * @param dilation dilation per spatial axis
     * @param groups channel groups
     */
    public record Geometry(long[] kernel, long[] stride, long[] padding, long[] dilation, int groups) {

        /** Checks that every axis list has the kernel's length, 1 or 2. */
        public Geometry {
            int axes = kernel.length;
            if (axes < 1 || axes > 2 || stride.length != axes || padding.length != axes || dilation.length != axes) {
                throw new IllegalArgumentException("the integer path runs 1-d and 2-d convolutions; got kernel "
                        + Arrays.toString(kernel) + ", stride " + Arrays.toString(stride) + ", padding "
                        + Arrays.toString(padding) + ", dilation " + Arrays.toString(dilation));
            }
        }

        /** Pads a 1-d list to 2-d with {@code first} in front. */
        private static int at(long[] axis, int i, int first) {
            return axis.length == 2 ? Math.toIntExact(axis[i]) : i == 0 ? first : Math.toIntExact(axis[0]);
        }
    }

    private final String name;
    private final int[] weightCodes;
    private final long[] weightShape;
    private final float[] weightScales;
    private final float[] bias;
    private final float exponent;
    private final InputQuantizer input;
    private final PowerProductTable table;
    private final Geometry geometry;

    private IntegerLayer(
            String name,
            int[] weightCodes,
            long[] weightShape,
            float[] weightScales,
            float[] bias,
            int weightDenominator,
            float exponent,
            InputQuantizer input,
            Geometry geometry) {
        long count = 1;
        for (long d : weightShape) {
            count *= d;
        }
        if (count != weightCodes.length || weightScales.length != weightShape[0]
                || (bias != null && bias.length != weightShape[0])) {
            throw new IllegalArgumentException("layer '" + name + "': " + weightCodes.length + " codes, "
                    + weightScales.length + " scales and " + (bias == null ? "no" : bias.length)
                    + " biases for weight shape " + Arrays.toString(weightShape));
        }
        this.name = name;
        this.weightCodes = weightCodes;
        this.weightShape = weightShape.clone();
        this.weightScales = weightScales;
        this.bias = bias;
        this.exponent = exponent;
        this.input = input;
        this.geometry = geometry;
        this.table = new PowerProductTable(weightDenominator, input.denominator(), exponent);
    }

    /**
     * Why a layer cannot run integer-only, or null when it can: it needs quantized inputs, one
     * exponent shared by weights and inputs, and a Linear or 1-/2-d convolution.
     *
     * @param template the float layer's structure
     * @param spec its weight quantizer
     * @param input its input quantizer, or null for float inputs
     * @return the reason, or null
     */
    public static String unsupported(Block template, QuantizerSpec spec, InputQuantizer input) {
        if (input == null) {
            return "its inputs are not quantized (quantize with activation bits to run integer-only)";
        }
        if (spec.getExponentGranularity() != Granularity.PER_TENSOR) {
            return "it has one exponent per channel; inputs and weights must share one exponent";
        }
        if (spec.getGroupSize() > 0) {
            return "it has group-wise scales (g" + spec.getGroupSize() + "); the integer path rescales once per"
                    + " output channel";
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
     * The integer form of a frozen layer: its integer codes, scales, bias and exponent, and the
     * template's geometry.
     *
     * @param data the frozen layer's stored values
     * @param template the float layer's structure
     * @return the layer
     * @throws IllegalArgumentException when the layer cannot run integer-only ({@link #unsupported})
     */
    public static IntegerLayer fromFrozen(FrozenLayerData data, Block template) {
        String reason = unsupported(template, data.spec(), data.input());
        if (reason != null) {
            throw new IllegalArgumentException("layer '" + data.path() + "' cannot run the integer path: " + reason);
        }
        int[] codes = data.integerCodes();
        int d = data.spec().getGrid().denominator(data.spec().getBits());
        float a = data.exponents()[0];
        if (template instanceof Convolution c) {
            Geometry g =
                    new Geometry(
                            c.getKernelShape().getShape(),
                            c.getStride().getShape(),
                            c.getPadding().getShape(),
                            c.getDilation().getShape(),
                            c.getGroups());
            return convolution(data.path(), codes, data.shape(), data.scales(), data.bias(), d, a, data.input(), g);
        }
        return linear(data.path(), codes, data.shape(), data.scales(), data.bias(), d, a, data.input());
    }

    /**
     * A Linear layer: weight {@code out × in}.
     *
     * @param name the layer's name, for errors
     * @param weightCodes integer weight codes (|c| ≤ D_w), row-major
     * @param weightShape {@code {out, in}}
     * @param weightScales per output channel maximum m
     * @param bias per output channel bias, or null
     * @param weightDenominator D_w of the weight grid
     * @param exponent the exponent shared by weights and inputs
     * @param input the input quantizer
     * @return the layer
     */
    public static IntegerLayer linear(
            String name,
            int[] weightCodes,
            long[] weightShape,
            float[] weightScales,
            float[] bias,
            int weightDenominator,
            float exponent,
            InputQuantizer input) {
        if (weightShape.length != 2) {
            throw new IllegalArgumentException(
                    "layer '" + name + "': a Linear weight has 2 axes, got " + Arrays.toString(weightShape));
        }
        return new IntegerLayer(
                name, weightCodes, weightShape, weightScales, bias, weightDenominator, exponent, input, null);
    }

    /**
     * A 1-d or 2-d convolution: weight {@code out × in/groups × k...}.
     *
     * @param name the layer's name, for errors
     * @param weightCodes integer weight codes, row-major
     * @param weightShape the weight shape
     * @param weightScales per output channel maximum m
     * @param bias per output channel bias, or null
     * @param weightDenominator D_w of the weight grid
     * @param exponent the exponent shared by weights and inputs
     * @param input the input quantizer
     * @param geometry kernel, stride, padding, dilation and groups
     * @return the layer
     */
    public static IntegerLayer convolution(
            String name,
            int[] weightCodes,
            long[] weightShape,
            float[] weightScales,
            float[] bias,
            int weightDenominator,
            float exponent,
            InputQuantizer input,
            Geometry geometry) {
        if (weightShape.length != geometry.kernel().length + 2) {
            throw new IllegalArgumentException("layer '" + name + "': weight shape " + Arrays.toString(weightShape)
                    + " does not fit a kernel of " + geometry.kernel().length + " spatial axes");
        }
        return new IntegerLayer(
                name, weightCodes, weightShape, weightScales, bias, weightDenominator, exponent, input, geometry);
    }

    /**
     * Runs the layer: encode the inputs, integer kernel, one rescale per output channel.
     *
     * @param x the float inputs: {@code (..., in)} for Linear, {@code (N, C, [H,] W)} for a
     *     convolution
     * @return the outputs, in x's manager and data type
     */
    public NDArray forward(NDArray x) {
        NDManager manager = x.getManager();
        int[] codes;
        try (NDArray a = manager.create(exponent);
                NDArray c = input.codes(x, a);
                NDArray ints = c.toType(DataType.INT32, false)) {
            codes = ints.toIntArray();
        }
        Shape in = x.getShape();
        float[] y;
        Shape outShape;
        int out = (int) weightShape[0];
        if (geometry == null) {
            int features = (int) weightShape[1];
            if (in.dimension() < 1 || in.get(in.dimension() - 1) != features) {
                throw new IllegalArgumentException(
                        "layer '" + name + "': input " + in + " does not end in " + features + " features");
            }
            int batch = codes.length / features;
            y = IntegerKernels.linear(weightCodes, weightScales, codes, input.scale(), table, bias, batch);
            long[] dims = in.getShape();
            dims[dims.length - 1] = out;
            outShape = new Shape(dims);
        } else {
            int axes = geometry.kernel().length;
            int channels = (int) weightShape[1] * geometry.groups();
            if (in.dimension() != axes + 2 || in.get(1) != channels) {
                throw new IllegalArgumentException("layer '" + name + "': input " + in + " is not (N, " + channels
                        + (axes == 2 ? ", H, W)" : ", W)"));
            }
            int[] shape = {
                (int) in.get(0), channels, axes == 2 ? (int) in.get(2) : 1, (int) in.get(axes + 1), out,
                Geometry.at(geometry.kernel(), 0, 1), Geometry.at(geometry.kernel(), 1, 1),
                Geometry.at(geometry.stride(), 0, 1), Geometry.at(geometry.stride(), 1, 1),
                Geometry.at(geometry.padding(), 0, 0), Geometry.at(geometry.padding(), 1, 0),
                Geometry.at(geometry.dilation(), 0, 1), Geometry.at(geometry.dilation(), 1, 1),
                geometry.groups()
            };
            y = IntegerKernels.conv2d(weightCodes, weightScales, codes, input.scale(), table, bias, shape);
            int ho = (shape[2] + 2 * shape[9] - shape[11] * (shape[5] - 1) - 1) / shape[7] + 1;
            int wo = (shape[3] + 2 * shape[10] - shape[12] * (shape[6] - 1) - 1) / shape[8] + 1;
            outShape = axes == 2 ? new Shape(shape[0], out, ho, wo) : new Shape(shape[0], out, wo);
        }
        NDArray result = manager.create(y, outShape);
        return x.getDataType() == DataType.FLOAT32 ? result : result.toType(x.getDataType(), false);
    }

    /**
     * Returns the product table.
     *
     * @return the table
     */
    public PowerProductTable getTable() {
        return table;
    }
}
