package ai.djl.nupes.integer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.InputQuantizer;

import org.junit.jupiter.api.Test;

import java.util.Random;

class IntegerKernelsTest {

    /** A grid for codes: the weight grids, or an unsigned input grid (codes 0..2^b-1, D = 2^b-1). */
    private record Codes(Grid grid, boolean unsigned, int bits) {
        int denominator() {
            return unsigned ? (1 << bits) - 1 : grid.denominator(bits);
        }

        int draw(Random r) {
            if (unsigned) {
                return r.nextInt(1 << bits);
            }
            int index = grid.minIndex(bits) + r.nextInt(grid.maxIndex(bits) - grid.minIndex(bits) + 1);
            return grid.integerCode(index);
        }

        /** sign(c)·(|c|/D)^(1/a)·scale, as the float path decodes it. */
        float decode(int code, float scale, float a) {
            return (float) (Math.copySign(Math.pow(Math.abs(code) / (double) denominator(), 1.0 / a), code) * scale);
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        float max = 0;
        for (float v : expected) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= 1e-5f * max,
                    what + " at " + i + ": float " + expected[i] + " vs integer " + actual[i] + " (max " + max + ')');
        }
    }

    private static final Codes[][] PAIRS = {
        {new Codes(Grid.SYMMETRIC, false, 8), new Codes(Grid.SYMMETRIC, false, 8)},
        {new Codes(Grid.SYMMETRIC, false, 4), new Codes(Grid.SYMMETRIC, true, 8)},
        {new Codes(Grid.HALF_INTEGER, false, 4), new Codes(Grid.SYMMETRIC, false, 4)},
        {new Codes(Grid.HALF_INTEGER, false, 2), new Codes(Grid.SYMMETRIC, true, 4)},
        {new Codes(Grid.SYMMETRIC, false, 3), new Codes(Grid.HALF_INTEGER, false, 3)},
    };

    @Test
    void integerLinearEqualsTheFloatPathForSignedAndUnsignedInputGrids() {
        Random r = new Random(4);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (Codes[] pair : PAIRS) {
                for (float a : new float[] {0.35f, 0.7f, 1f, 1.3f}) {
                    int out = 7;
                    int in = 37;
                    int batch = 5;
                    Codes wg = pair[0];
                    Codes xg = pair[1];
                    int[] wc = new int[out * in];
                    int[] xc = new int[batch * in];
                    float[] ws = new float[out];
                    float[] bias = new float[out];
                    for (int i = 0; i < wc.length; i++) {
                        wc[i] = wg.draw(r);
                    }
                    for (int i = 0; i < xc.length; i++) {
                        xc[i] = xg.draw(r);
                    }
                    for (int o = 0; o < out; o++) {
                        ws[o] = 0.01f + r.nextFloat();
                        bias[o] = (float) r.nextGaussian();
                    }
                    float xs = 2.5f;
                    PowerProductTable table = new PowerProductTable(wg.denominator(), xg.denominator(), a);
                    float[] integer = IntegerKernels.linear(wc, ws, xc, xs, table, bias, batch);
                    float[] wf = new float[wc.length];
                    for (int i = 0; i < wc.length; i++) {
                        wf[i] = wg.decode(wc[i], ws[i / in], a);
                    }
                    float[] xf = new float[xc.length];
                    for (int i = 0; i < xc.length; i++) {
                        xf[i] = xg.decode(xc[i], xs, a);
                    }
                    NDArray y = Linear.linear(
                                    manager.create(xf, new Shape(batch, in)),
                                    manager.create(wf, new Shape(out, in)),
                                    manager.create(bias))
                            .head();
                    assertClose(y.toFloatArray(), integer, wg + " x " + xg + " a=" + a);
                }
            }
        }
    }

    @Test
    void integerConvolutionEqualsTheFloatPathWithOddShapesStridesPaddingAndGroups() {
        Random r = new Random(9);
        // {N, C, H, W, O, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups}
        int[][] shapes = {
            {2, 3, 7, 9, 5, 3, 2, 2, 1, 1, 0, 1, 2, 1},
            {1, 6, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 3},
            {3, 1, 11, 6, 4, 1, 5, 3, 2, 0, 2, 1, 1, 1},
        };
        try (NDManager manager = NDManager.newBaseManager()) {
            for (Codes[] pair : PAIRS) {
                for (int[] s : shapes) {
                    float a = 0.6f;
                    Codes wg = pair[0];
                    Codes xg = pair[1];
                    int n = s[0], c = s[1], h = s[2], w = s[3], o = s[4], kh = s[5], kw = s[6];
                    int groups = s[13];
                    int[] wc = new int[o * (c / groups) * kh * kw];
                    int[] xc = new int[n * c * h * w];
                    float[] ws = new float[o];
                    float[] bias = new float[o];
                    for (int i = 0; i < wc.length; i++) {
                        wc[i] = wg.draw(r);
                    }
                    for (int i = 0; i < xc.length; i++) {
                        xc[i] = xg.draw(r);
                    }
                    for (int i = 0; i < o; i++) {
                        ws[i] = 0.05f + r.nextFloat();
                        bias[i] = (float) r.nextGaussian() * 0.1f;
                    }
                    float xs = 0.8f;
                    PowerProductTable table = new PowerProductTable(wg.denominator(), xg.denominator(), a);
                    float[] integer = IntegerKernels.conv2d(wc, ws, xc, xs, table, bias, s);
                    int perChannel = wc.length / o;
                    float[] wf = new float[wc.length];
                    for (int i = 0; i < wc.length; i++) {
                        wf[i] = wg.decode(wc[i], ws[i / perChannel], a);
                    }
                    float[] xf = new float[xc.length];
                    for (int i = 0; i < xc.length; i++) {
                        xf[i] = xg.decode(xc[i], xs, a);
                    }
                    NDArray y = Conv2d.conv2d(
                                    manager.create(xf, new Shape(n, c, h, w)),
                                    manager.create(wf, new Shape(o, c / groups, kh, kw)),
                                    manager.create(bias),
                                    new Shape(s[7], s[8]),
                                    new Shape(s[9], s[10]),
                                    new Shape(s[11], s[12]),
                                    groups)
                            .head();
                    assertClose(y.toFloatArray(), integer, wg + " x " + xg + " " + java.util.Arrays.toString(s));
                }
            }
        }
    }

    @Test
    void aLayerEncodesFloatInputsLikeTheFakeQuantizerAndRunsOneDimensionalConvolutions() {
        Random r = new Random(21);
        float a = 0.6f;
        Codes wg = new Codes(Grid.SYMMETRIC, false, 4);
        InputQuantizer signed = new InputQuantizer(6, 2f, false);
        int n = 2, c = 4, w = 13, o = 3, k = 3;
        int[] wc = new int[o * c * k];
        float[] wf = new float[wc.length];
        float[] ws = {0.5f, 1.25f, 0.05f};
        for (int i = 0; i < wc.length; i++) {
            wc[i] = wg.draw(r);
            wf[i] = wg.decode(wc[i], ws[i / (c * k)], a);
        }
        float[] bias = {0.1f, -0.2f, 0.3f};
        float[] x = new float[n * c * w];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray input = manager.create(x, new Shape(n, c, w));
            IntegerLayer layer =
                    IntegerLayer.convolution(
                            "conv1d", wc, new long[] {o, c, k}, ws, bias, wg.denominator(), a, signed,
                            new IntegerLayer.Geometry(new long[] {k}, new long[] {2}, new long[] {1}, new long[] {1}, 1));
            NDArray integer = layer.forward(input);
            NDArray quantizedInput = signed.apply(input, manager.create(a));
            NDArray expected = Conv1d.conv1d(quantizedInput, manager.create(wf, new Shape(o, c, k)),
                            manager.create(bias), new Shape(2), new Shape(1), new Shape(1), 1)
                    .head();
            assertEquals(expected.getShape(), integer.getShape());
            assertClose(expected.toFloatArray(), integer.toFloatArray(), "conv1d stride 2");

            // a Linear keeps the leading axes: (batch, sequence, features) -> (batch, sequence, out)
            int in = 5;
            int[] lc = new int[2 * in];
            float[] lf = new float[lc.length];
            float[] ls = {0.7f, 0.3f};
            for (int i = 0; i < lc.length; i++) {
                lc[i] = wg.draw(r);
                lf[i] = wg.decode(lc[i], ls[i / in], a);
            }
            NDArray sequence = ai.djl.nupes.SeededArrays.gaussian(manager, 5, new Shape(2, 3, in));
            NDArray viaInteger =
                    IntegerLayer.linear("linear", lc, new long[] {2, in}, ls, null, wg.denominator(), a, signed)
                            .forward(sequence);
            NDArray viaFloat = Linear.linear(signed.apply(sequence, manager.create(a)),
                            manager.create(lf, new Shape(2, in)))
                    .head();
            assertEquals(new Shape(2, 3, 2), viaInteger.getShape());
            assertClose(viaFloat.toFloatArray(), viaInteger.toFloatArray(), "linear on a sequence");
            assertThrows(IllegalArgumentException.class, () -> IntegerLayer.linear(
                    "linear", lc, new long[] {2, in}, ls, null, wg.denominator(), a, signed)
                    .forward(manager.ones(new Shape(2, in + 1))));
        }
    }

    @Test
    void theTableRefusesExponentsOutsideTheRangeAndMapsSigns() {
        assertThrows(IllegalArgumentException.class, () -> new PowerProductTable(7, 7, 0.1f));
        PowerProductTable t = new PowerProductTable(7, 15, 0.5f);
        assertEquals(105, t.maxProduct());
        assertEquals(1L << PowerProductTable.FRACTION_BITS, t.map(105));
        assertEquals(-t.map(42), t.map(-42));
        assertEquals(0, t.map(0));
    }
}
