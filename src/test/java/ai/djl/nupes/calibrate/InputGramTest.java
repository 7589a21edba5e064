package ai.djl.nupes.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nupes.gptq.HessianAccumulator;

import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;

import java.util.Random;

/** The input Hessian computed on the engine equals the double-precision sum of x xᵀ. */
class InputGramTest {

    private static float[] gaussian(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /** The largest |a - b| over the largest |b|. */
    private static double relativeDifference(DMatrixRMaj a, DMatrixRMaj b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.data.length; i++) {
            diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
            scale = Math.max(scale, Math.abs(b.data[i]));
        }
        return diff / scale;
    }

    @Test
    void engineChunksAcrossABoundaryEqualTheDoubleSum() {
        int rows = InputGram.CHUNK_ROWS + 904;
        int k = 40;
        float[] x = gaussian(new Random(3), rows * k);
        HessianAccumulator direct = new HessianAccumulator("fc", k);
        direct.add(x, rows);
        HessianAccumulator engine = new HessianAccumulator("fc", k);
        try (NDManager manager = NDManager.newBaseManager()) {
            InputGram.add("fc", manager.create(x, new Shape(rows, k)), engine);
        }
        assertEquals(rows, engine.rows());
        assertTrue(relativeDifference(engine.hessian(), direct.hessian()) < 1e-5,
                "relative difference " + relativeDifference(engine.hessian(), direct.hessian()));
    }

    @Test
    void aNonFiniteInputIsRefusedNamingTheLayerAndRow() {
        int rows = InputGram.CHUNK_ROWS + 10;
        float[] x = gaussian(new Random(4), rows * 8);
        x[(InputGram.CHUNK_ROWS + 3) * 8 + 5] = Float.NaN;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray inputs = manager.create(x, new Shape(rows, 8));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> InputGram.add("encoder.0.ffn", inputs, new HessianAccumulator("encoder.0.ffn", 8)));
            assertEquals("layer 'encoder.0.ffn': input row " + (InputGram.CHUNK_ROWS + 3) + " holds NaN",
                    e.getMessage());
        }
    }

    @Test
    void convolutionPatchRowsInEngineChunksEqualTheUnfoldedDoubleSum() {
        // 120 images of 2 x 6 x 6: 36 patch rows each, so the rows span several engine chunks
        int n = 120;
        int c = 2;
        int side = 6;
        float[] x = gaussian(new Random(5), n * c * side * side);
        try (NDManager manager = NDManager.newBaseManager()) {
            Conv2d conv = Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1))
                    .setFilters(4).build();
            conv.initialize(manager, DataType.FLOAT32, new Shape(1, c, side, side));
            HessianAccumulator engine = new HessianAccumulator("conv", c * 9);
            GptqCalibration.PatchRows.add(conv, manager.create(x, new Shape(n, c, side, side)), engine);

            // the reference: every output position's patch read from a zero-padded copy of the image
            int padded = side + 2;
            HessianAccumulator direct = new HessianAccumulator("conv", c * 9);
            float[] patches = new float[side * side * c * 9];
            for (int b = 0; b < n; b++) {
                float[] image = new float[c * padded * padded];
                for (int ch = 0; ch < c; ch++) {
                    for (int y = 0; y < side; y++) {
                        for (int xx = 0; xx < side; xx++) {
                            image[(ch * padded + y + 1) * padded + xx + 1] =
                                    x[((b * c + ch) * side + y) * side + xx];
                        }
                    }
                }
                for (int oy = 0; oy < side; oy++) {
                    for (int ox = 0; ox < side; ox++) {
                        for (int ch = 0; ch < c; ch++) {
                            for (int ky = 0; ky < 3; ky++) {
                                for (int kx = 0; kx < 3; kx++) {
                                    patches[(oy * side + ox) * c * 9 + ch * 9 + ky * 3 + kx] =
                                            image[(ch * padded + oy + ky) * padded + ox + kx];
                                }
                            }
                        }
                    }
                }
                direct.add(patches, side * side);
            }
            assertEquals(direct.rows(), engine.rows());
            assertTrue(relativeDifference(engine.hessian(), direct.hessian()) < 1e-5,
                    "relative difference " + relativeDifference(engine.hessian(), direct.hessian()));
        }
    }

    @Test
    void aGramMatrixOfTheWrongSizeIsRefused() {
        HessianAccumulator h = new HessianAccumulator("fc", 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.addGram(new float[8], 2));
        assertEquals("layer 'fc': a Gram matrix of 8 values is not 3x3", e.getMessage());
    }
}
