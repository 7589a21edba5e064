package ai.djl.nupes.integer;

/**
 * Integer-only reference kernels in plain Java: integer codes in, integer multiplies, one table
 * lookup per product ({@link PowerProductTable}), accumulation in {@code long}, and one float
 * rescale per output channel at the end. They are references for correctness, not fast paths.
 */
public final class IntegerKernels {

    private IntegerKernels() {}

    /**
     * {@code y[n][o] = s_w[o]·s_x·2^-F·Σ_i T(c_w[o][i]·c_x[n][i]) + bias[o]}.
     *
     * @param weightCodes integer weight codes, {@code out × in}, row-major
     * @param weightScales per output channel weight maximum s_w
     * @param inputCodes integer input codes, {@code batch × in}, row-major
     * @param inputScale the input maximum s_x
     * @param table the product table of the shared exponent
     * @param bias float bias per output channel, or null
     * @param batch rows of the input
     * @return {@code batch × out}, row-major
     */
    public static float[] linear(
            int[] weightCodes,
            float[] weightScales,
            int[] inputCodes,
            float inputScale,
            PowerProductTable table,
            float[] bias,
            int batch) {
        int out = weightScales.length;
        int in = weightCodes.length / out;
        if (inputCodes.length != batch * in) {
            throw new IllegalArgumentException(
                    "input holds " + inputCodes.length + " codes, expected " + batch + " × " + in);
        }
        float[] y = new float[batch * out];
        for (int n = 0; n < batch; n++) {
            for (int o = 0; o < out; o++) {
                long acc = 0;
                for (int i = 0; i < in; i++) {
                    acc += table.map(weightCodes[o * in + i] * inputCodes[n * in + i]);
                }
                y[n * out + o] = rescale(acc, weightScales[o], inputScale, table, bias, o);
            }
        }
        return y;
    }

    /**
     * 2-D convolution, NCHW, by im2col: each output position gathers its receptive field of input
     * codes (0 outside the input: zero padding contributes nothing) and runs the integer dot product
     * with the channel's weight codes.
     *
     * @param weightCodes {@code O × C/groups × kh × kw} integer codes, row-major
     * @param weightScales per output channel s_w
     * @param inputCodes {@code N × C × H × W} integer codes, row-major
     * @param inputScale s_x
     * @param table the product table
     * @param bias per output channel bias, or null
     * @param shape {@code {N, C, H, W, O, kh, kw, strideH, strideW, padH, padW, dilationH,
     *     dilationW, groups}}
     * @return {@code N × O × Ho × Wo}, row-major
     */
    public static float[] conv2d(
            int[] weightCodes,
            float[] weightScales,
            int[] inputCodes,
            float inputScale,
            PowerProductTable table,
            float[] bias,
            int[] shape) {
        int n = shape[0], c = shape[1], h = shape[2], w = shape[3], o = shape[4];
        int kh = shape[5], kw = shape[6], sh = shape[7], sw = shape[8], ph = shape[9], pw = shape[10];
        int dh = shape[11], dw = shape[12], groups = shape[13];
        int ho = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
        int wo = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
        int cg = c / groups;
        int og = o / groups;
        int field = cg * kh * kw;
        int[] column = new int[field];
        float[] y = new float[n * o * ho * wo];
        for (int b = 0; b < n; b++) {
            for (int g = 0; g < groups; g++) {
                for (int oy = 0; oy < ho; oy++) {
                    for (int ox = 0; ox < wo; ox++) {
                        // im2col: the receptive field of (oy, ox) in group g
                        int f = 0;
                        for (int ci = 0; ci < cg; ci++) {
                            int channel = g * cg + ci;
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * sh - ph + ky * dh;
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * sw - pw + kx * dw;
                                    boolean inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                                    column[f++] = inside ? inputCodes[((b * c + channel) * h + iy) * w + ix] : 0;
                                }
                            }
                        }
                        for (int oc = g * og; oc < (g + 1) * og; oc++) {
                            long acc = 0;
                            int base = oc * field;
                            for (int i = 0; i < field; i++) {
                                acc += table.map(weightCodes[base + i] * column[i]);
                            }
                            y[((b * o + oc) * ho + oy) * wo + ox] = rescale(acc, weightScales[oc], inputScale, table, bias, oc);
                        }
                    }
                }
            }
        }
        return y;
    }

    /** One float rescale per output: {@code s_w·s_x·2^-F·acc + bias}. */
    private static float rescale(
            long acc, float weightScale, float inputScale, PowerProductTable table, float[] bias, int channel) {
        double v = (double) weightScale * inputScale * table.unit() * acc;
        return (float) (bias == null ? v : v + bias[channel]);
    }
}
