package ai.djl.nupes.format;

import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.QuantizerSpec;

/**
 * One frozen layer's stored values, unpacked and checked: what a decoder or an integer kernel is
 * built from.
 *
 * @param path the layer's path in the block tree
 * @param spec bits, grid and granularities
 * @param shape the weight shape, first axis = output channel
 * @param codeOffsets every weight's code index minus {@link QuantizerSpec#minCode()}, row-major
 * @param scales the maxima m of the scale groups, channel-major (one per output channel unless
 *     grouped)
 * @param exponents one exponent, or one per output channel
 * @param bias the float bias, or null
 * @param input the input quantizer, or null for float inputs
 */
public record FrozenLayerData(
        String path,
        QuantizerSpec spec,
        long[] shape,
        int[] codeOffsets,
        float[] scales,
        float[] exponents,
        float[] bias,
        InputQuantizer input) {

    /**
     * The exponent of an output channel.
     *
     * @param channel the channel
     * @return its exponent
     */
    public float exponentOf(int channel) {
        return exponents.length == 1 ? exponents[0] : exponents[channel];
    }

    /**
     * The signed integer code of every weight: the grid's {@code integerCode(offset + minCode)}.
     *
     * @return the codes, row-major
     */
    public int[] integerCodes() {
        int[] codes = new int[codeOffsets.length];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = spec.getGrid().integerCode(codeOffsets[i] + spec.minCode());
        }
        return codes;
    }
}
