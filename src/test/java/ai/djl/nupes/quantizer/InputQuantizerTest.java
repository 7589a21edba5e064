package ai.djl.nupes.quantizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import org.junit.jupiter.api.Test;

import java.util.Random;

class InputQuantizerTest {

    private static final float[] EXPONENTS = {ExponentRange.MIN, 0.45f, 0.7f, 1f, ExponentRange.MAX};

    @Test
    void zeroInputsStayCodeZeroAtEveryExponentOnBothGrids() {
        try (NDManager manager = NDManager.newBaseManager()) {
            for (boolean unsigned : new boolean[] {true, false}) {
                InputQuantizer q = new InputQuantizer(8, 2f, unsigned);
                for (float a : EXPONENTS) {
                    NDArray exponent = manager.create(a);
                    NDArray x = manager.create(new float[] {0f, -0f, 1e-30f, 2f});
                    float[] codes = q.codes(x, exponent).toFloatArray();
                    float[] values = q.apply(x, exponent).toFloatArray();
                    String what = (unsigned ? "unsigned" : "signed") + " a=" + a;
                    assertEquals(0f, codes[0], what);
                    assertEquals(0f, codes[1], what);
                    assertEquals(0f, values[0], what + ": a zero input (after ReLU) decodes to 0");
                    assertEquals(0f, values[1], what);
                    assertEquals(q.denominator(), codes[3], what + ": the range maps to the top code");
                    assertEquals(2f, values[3], 1e-6f, what);
                }
            }
        }
    }

    @Test
    void fakeQuantizedInputsDecodeTheirIntegerCodesAndClipToTheGrid() {
        Random r = new Random(3);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (boolean unsigned : new boolean[] {true, false}) {
                for (int bits : new int[] {2, 4, 8}) {
                    InputQuantizer q = new InputQuantizer(bits, 1.5f, unsigned);
                    float[] raw = new float[500];
                    for (int i = 0; i < raw.length; i++) {
                        raw[i] = (float) (r.nextGaussian() * 1.2);
                    }
                    for (float a : EXPONENTS) {
                        NDArray exponent = manager.create(a);
                        NDArray x = manager.create(raw);
                        float[] codes = q.codes(x, exponent).toFloatArray();
                        float[] values = q.apply(x, exponent).toFloatArray();
                        int d = q.denominator();
                        for (int i = 0; i < raw.length; i++) {
                            String what = (unsigned ? "unsigned" : "signed") + " W" + bits + " a=" + a + " x=" + raw[i];
                            float c = codes[i];
                            assertEquals(Math.rint(c), c, what + ": codes are whole");
                            assertTrue(c <= d && c >= (unsigned ? 0 : -d), what + ": code " + c);
                            if (unsigned && raw[i] <= 0) {
                                assertEquals(0f, c, what + ": negatives clip to 0 on the unsigned grid");
                            }
                            double decoded = Math.copySign(1.5 * Math.pow(Math.abs(c) / d, 1.0 / a), c);
                            assertEquals(decoded, values[i], 2e-6 * 1.5, what);
                        }
                    }
                }
            }
        }
    }
}
