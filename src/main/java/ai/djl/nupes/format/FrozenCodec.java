package ai.djl.nupes.format;

import ai.djl.nupes.quantizer.ExponentRange;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;

import java.util.Arrays;

/**
 * Turns a layer's integer form into the stored tensors and back, checking every stored value that
 * decoding depends on. Problems are reported as {@link IllegalArgumentException}s whose message
 * starts with the tensor's name ({@code tensor 'codes': ...}); callers add the file and the layer.
 *
 * <p>Stored tensors: {@code codes} (UINT8, the code offsets {@code index - minCode} packed by
 * {@link BitPacker}), {@code scales} (FLOAT32, the channel maxima m), {@code exponents} (FLOAT32,
 * one or one per channel).
 */
public final class FrozenCodec {

    private FrozenCodec() {}

    /**
     * Packs a layer's codes: offsets {@code index - minCode}, {@code b} bits each.
     *
     * @param q the integer form
     * @return the packed bytes
     */
    public static byte[] packCodes(QuantizedWeights q) {
        byte[] indices = q.getCodes();
        int min = q.getSpec().minCode();
        int[] offsets = new int[indices.length];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = indices[i] - min;
        }
        return BitPacker.pack(offsets, q.getSpec().getBits());
    }

    /**
     * Unpacks and checks stored codes.
     *
     * @param packed the stored bytes
     * @param shape the weight shape
     * @param spec bits and grid
     * @return one code offset per weight
     * @throws IllegalArgumentException when the length does not fit the shape or an offset lies
     *     outside the grid
     */
    public static int[] unpackCodes(byte[] packed, long[] shape, QuantizerSpec spec) {
        int count = count(shape);
        int need = BitPacker.packedLength(count, spec.getBits());
        if (packed.length != need) {
            throw new IllegalArgumentException("tensor 'codes': " + packed.length + " bytes, expected ceil(" + count
                    + "·" + spec.getBits() + "/8) = " + need + " for weight shape " + Arrays.toString(shape));
        }
        int[] offsets = BitPacker.unpack(packed, count, spec.getBits());
        int maxOffset = spec.maxCode() - spec.minCode();
        for (int i = 0; i < offsets.length; i++) {
            if (offsets[i] > maxOffset) {
                throw new IllegalArgumentException(
                        "tensor 'codes': code offset " + offsets[i] + " at weight " + i + " above " + maxOffset);
            }
        }
        return offsets;
    }

    /**
     * Checks stored channel maxima.
     *
     * @param scales the stored values
     * @param shape the weight shape
     * @param spec the granularity
     * @throws IllegalArgumentException for a wrong count, a negative or non-finite value, or per-tensor
     *     scales that differ
     */
    public static void checkScales(float[] scales, long[] shape, QuantizerSpec spec) {
        int channels = (int) shape[0];
        int groups = spec.groupsPerChannel(count(shape) / channels);
        if (scales.length != channels * groups) {
            throw new IllegalArgumentException("tensor 'scales': " + scales.length + " values for " + channels
                    + " output channels" + (groups > 1 ? " of " + groups + " groups" : ""));
        }
        for (int c = 0; c < scales.length; c++) {
            if (!Float.isFinite(scales[c]) || scales[c] < 0f) {
                throw new IllegalArgumentException("tensor 'scales': scale " + c + " is " + scales[c]);
            }
            if (spec.getScaleGranularity() == Granularity.PER_TENSOR && scales[c] != scales[0]) {
                throw new IllegalArgumentException("tensor 'scales': per-tensor scales differ (channel " + c + ": "
                        + scales[c] + ", channel 0: " + scales[0] + ')');
            }
        }
    }

    /**
     * Checks stored exponents against the range, the granularity and what the manifest recorded.
     *
     * @param exponents the stored values
     * @param shape the weight shape
     * @param spec the exponent granularity
     * @param recorded the manifest's exponents, or null to skip that comparison
     * @throws IllegalArgumentException for a wrong count, a value outside the range or a value that
     *     differs from the manifest
     */
    public static void checkExponents(float[] exponents, long[] shape, QuantizerSpec spec, float[] recorded) {
        int expected = spec.getExponentGranularity() == Granularity.PER_CHANNEL ? (int) shape[0] : 1;
        if (exponents.length != expected) {
            throw new IllegalArgumentException(
                    "tensor 'exponents': " + exponents.length + " values, expected " + expected + " for " + spec);
        }
        for (float a : exponents) {
            if (!(a >= ExponentRange.MIN && a <= ExponentRange.MAX)) {
                throw new IllegalArgumentException("tensor 'exponents': exponent " + a + " outside ["
                        + ExponentRange.MIN + ", " + ExponentRange.MAX + ']');
            }
        }
        if (recorded != null && !Arrays.equals(recorded, exponents)) {
            throw new IllegalArgumentException("tensor 'exponents': " + preview(exponents)
                    + " differ from the manifest's " + preview(recorded));
        }
    }

    /**
     * The decoded value of every code of every scale group, one row per group: {@code table[s·L +
     * k]} is code offset k of group s, {@code sign(c)·m·(|c|/D)^(1/a)}, computed exactly as the
     * in-memory quantizer decodes ({@link PowerQuantizer#levels}), so frozen and in-memory weights
     * are bit-identical.
     *
     * @param spec bits and grid
     * @param scales one maximum per group, channel-major
     * @param exponents one exponent, or one per channel
     * @param channels the output channels
     * @return the table, {@code groups × levels}
     */
    public static float[] levelTable(QuantizerSpec spec, float[] scales, float[] exponents, int channels) {
        int levels = levels(spec);
        int groups = scales.length / channels;
        float[] table = new float[scales.length * levels];
        for (int s = 0; s < scales.length; s++) {
            float a = exponents.length == 1 ? exponents[0] : exponents[s / groups];
            System.arraycopy(PowerQuantizer.levels(scales[s], a, spec), 0, table, s * levels, levels);
        }
        return table;
    }

    /**
     * The number of code values of a spec: {@code maxCode - minCode + 1}.
     *
     * @param spec bits and grid
     * @return the level count
     */
    public static int levels(QuantizerSpec spec) {
        return spec.maxCode() - spec.minCode() + 1;
    }

    /**
     * The number of weights of a shape.
     *
     * @param shape the shape
     * @return the element count
     */
    public static int count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return Math.toIntExact(n);
    }

    private static String preview(float[] values) {
        return Arrays.toString(values.length > 4 ? Arrays.copyOf(values, 4) : values) + (values.length > 4 ? "…" : "");
    }
}
