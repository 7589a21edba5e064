package ai.djl.nupes.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.Method;
import ai.djl.nupes.SeededArrays;
import ai.djl.nupes.nn.QuantizedLinear;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.PowerQuantizerOps;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

class LayerwiseCalibrationTest {

    @ParameterizedTest
    @EnumSource(Grid.class)
    void exponentGradientIsFiniteForZerosTinyValuesAndOutliers(Grid grid) {
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] w = {0f, 0f, 1e-30f, -1e-12f, 1e-7f, 0.01f, -0.02f, 0.015f, 3f, -0.01f, 0f, 0.005f};
            // channel 0 holds a 100x outlier (3 vs ~0.03), channel 1 exact zeros and tiny values
            NDArray latent = manager.create(w, new Shape(2, 6));
            NDArray max = manager.create(new float[] {3f, 0.02f}, new Shape(2, 1));
            NDArray exponent = manager.create(new float[] {0.6f}, new Shape(1, 1));
            NDArray target = manager.create(w, new Shape(2, 6)).mul(1.1f);
            for (NDArray v : new NDArray[] {latent, max, exponent}) {
                v.setRequiresGradient(true);
            }
            QuantizerSpec spec = QuantizerSpec.of(3).withGrid(grid);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray q = PowerQuantizerOps.fakeQuantize(latent, max, exponent, spec);
                gc.backward(q.sub(target).square().sum());
            }
            for (NDArray v : new NDArray[] {latent, max, exponent}) {
                float[] g = v.getGradient().toFloatArray();
                for (float x : g) {
                    assertTrue(Float.isFinite(x), "non-finite gradient " + java.util.Arrays.toString(g));
                }
            }
            assertNotEquals(0f, exponent.getGradient().getFloat(0, 0), "the exponent must get a signal");
        }
    }

    @Test
    void fakeQuantizationValueEqualsTheReferenceQuantizer() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random r = new Random(5);
            float[] w = new float[4 * 50];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextGaussian() * 0.1);
            }
            for (Grid grid : Grid.values()) {
                QuantizerSpec spec = QuantizerSpec.of(4).withGrid(grid);
                QuantizedWeights ref = PowerQuantizer.quantize("l", w, new long[] {4, 50}, spec, new float[] {0.6f});
                float[] maxima = ref.getMaxima();
                NDArray q =
                        PowerQuantizerOps.fakeQuantize(
                                manager.create(w, new Shape(4, 50)),
                                manager.create(maxima, new Shape(4, 1)),
                                manager.create(new float[] {0.6f}, new Shape(1, 1)),
                                spec);
                assertArrayEquals(ref.decode(), q.toFloatArray(), 2e-6f, grid.toString());
            }
        }
    }

    @Test
    void theLearnedExponentMovesTowardAKnownBetterExponent() {
        try (NDManager manager = NDManager.newBaseManager()) {
            // Laplace weights: the exponent that best reconstructs them at 3 bits is far below 1
            QuantizerSpec spec = QuantizerSpec.of(3);
            Random r = new Random(3);
            int channels = 16;
            int n = channels * 256;
            float[] w = new float[n];
            for (int i = 0; i < n; i++) {
                double u = r.nextDouble() - 0.5;
                w[i] = (float) (-0.05 * Math.signum(u) * Math.log(1 - 2 * Math.abs(u)));
            }
            float best = ai.djl.nupes.quantizer.ExponentSearch.forLayer(w, channels, spec).exponent();
            float[] maxima = PowerQuantizer.channelMaxima(w, channels, spec.getScaleGranularity());
            NDArray target = manager.create(w, new Shape(channels, 256));
            NDArray latent = target.duplicate();
            NDArray max = manager.create(maxima, new Shape(channels, 1));
            float start = 1f;
            NDArray exponent = manager.create(new float[] {start}, new Shape(1, 1));
            Adam adam = new Adam(exponent, 1e-2f);
            for (int it = 0; it < 100; it++) {
                try (NDManager step = manager.newSubManager()) {
                    step.tempAttachAll(latent, max, target);
                    step.tempAttachAll(adam.arrays());
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray q = PowerQuantizerOps.fakeQuantize(latent, max, exponent, spec);
                        gc.backward(q.sub(target).square().mean());
                    }
                    adam.step(step, 0, 1_000_000);
                }
            }
            float learned = exponent.getFloat(0, 0);
            assertTrue(best < 0.8f, "the known better exponent is " + best);
            assertTrue(Math.abs(learned - best) < Math.abs(start - best) / 2,
                    "a went from " + start + " to " + learned + ", the better exponent is " + best);
        }
    }

    @Test
    void aWeightCanCrossSeveralGridLevels() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Linear floatLayer = Linear.builder().setUnits(1).optBias(false).build();
            floatLayer.initialize(manager, DataType.FLOAT32, new Shape(1, 4));
            floatLayer.getParameters().get("weight").getArray().set(new float[] {0.1f, -0.2f, 0.3f, 1f});
            QuantizerSpec spec = QuantizerSpec.of(4);
            QuantizedLinear layer = new QuantizedLinear("fc", floatLayer, LayerSettings.weightsOnly(spec));
            NDArray floatInputs = SeededArrays.gaussian(manager, 8, new Shape(256, 4));
            // the quantized prefix delivers input 0 at a quarter of its float size: to match the
            // float output, weight 0 must grow from 0.1 to 0.4. The exponent is frozen so that the
            // latent weights alone must make the move (with a learned exponent the grid phase also
            // reshapes the grid for this shift, and the outcome varied with the thread count)
            // The draw is seeded, so the outcome is the same in every run. Over input draws with seeds
            // 1-30, weight 0 moved 2-3 levels and the loss fell 4.0-6.2x in 28; seed 9 fell 3.95x and
            // with seed 17 calibration ended above the data-free loss and kept the data-free codes
            NDArray quantizedInputs = floatInputs.mul(manager.create(new float[] {0.25f, 1, 1, 1}));
            LayerSetup setup = new LayerSetup(layer.getQuantizer());
            QuantizedWeights dataFree =
                    PowerQuantizer.quantize("fc", setup.weights, setup.shape, spec, setup.exponents);
            LayerwiseCalibration optimizer =
                    new LayerwiseCalibration(new CalibrationSettings(400, 64, 5e-3f, 1e-3f, 1e-2f, 1e-2f, 7,
                            LatentStart.FLOAT_WEIGHTS, ReconstructionUnit.LAYER, FinalRounding.LEARNED, GptqTarget.WEIGHTS));
            LayerwiseCalibration.Reconstructed r =
                    optimizer.reconstruct(
                            layer.getQuantizer(), setup,
                            LayerSamples.of(layer.getQuantizer(), quantizedInputs, floatInputs, null, manager),
                            Method.NUPES_FIXED_EXPONENT, 0,
                            manager);
            int moved = r.weights().getCodes()[0] - dataFree.getCodes()[0];
            assertTrue(moved >= 2, "weight 0 moved " + moved + " level(s): " + dataFree.getCodes()[0] + " -> "
                    + r.weights().getCodes()[0]);
            assertTrue(r.lossAfter() < r.lossBefore() / 4, r.lossBefore() + " -> " + r.lossAfter());
        }
    }

    /** 10 steps leave the codes near rounding and GPTQ's win; after 100 the learned ones do (seeded). */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {10, 100})
    void withGptqRoundingALayerEndsAtTheLowerLossOfItsLearnedCodesAndGptqsOnTheLearnedGrid(int iterations) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random r = new Random(11);
            Linear floatLayer = Linear.builder().setUnits(6).build();
            floatLayer.initialize(manager, DataType.FLOAT32, new Shape(1, 24));
            float[] w = new float[6 * 24];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextGaussian() * 0.3);
            }
            floatLayer.getParameters().get("weight").getArray().set(w);
            QuantizerSpec spec = QuantizerSpec.of(3);
            QuantizedLinear layer = new QuantizedLinear("fc", floatLayer, LayerSettings.weightsOnly(spec));
            // correlated inputs: GPTQ's error feedback has correlations to use
            float[] x = new float[256 * 24];
            for (int i = 0; i < 256; i++) {
                for (int j = 0; j < 24; j++) {
                    x[i * 24 + j] = (float) r.nextGaussian() + (j > 0 ? 0.8f * x[i * 24 + j - 1] : 0f);
                }
            }
            NDArray inputs = manager.create(x, new Shape(256, 24));
            LayerSetup setup = new LayerSetup(layer.getQuantizer());
            LayerwiseCalibration.Reconstructed learned =
                    reconstruct(layer, setup, inputs, iterations, FinalRounding.LEARNED, manager);
            LayerwiseCalibration.Reconstructed best =
                    reconstruct(layer, setup, inputs, iterations, FinalRounding.BEST_OF_LEARNED_AND_GPTQ, manager);

            // GPTQ on the grid the learned run ended with (the same seed learns the same grid)
            LayerSamples samples = LayerSamples.of(layer.getQuantizer(), inputs, inputs.duplicate(), null, manager);
            QuantizedWeights onGrid = ai.djl.nupes.gptq.Gptq.quantizeOnGrid("fc", setup.weights, setup.shape,
                            GptqCalibration.accumulate(layer.getQuantizer(), samples.quantized(), null, Method.NUPES)
                                    .hessian(),
                            spec, learned.weights().getExponents(), learned.weights().getMaxima(),
                            ai.djl.nupes.gptq.Gptq.Options.defaults(true))
                    .weights();
            layer.getQuantizer().setQuantizedWeights(onGrid);
            double onGridLoss = LayerwiseCalibration.meanLoss(layer.getQuantizer(), samples, manager);

            boolean gptqWins = iterations == 10;
            assertEquals(gptqWins, onGridLoss < learned.lossAfter(),
                    "gptq on the learned grid " + onGridLoss + ", learned codes " + learned.lossAfter());
            assertArrayEquals((gptqWins ? onGrid : learned.weights()).getCodes(), best.weights().getCodes());
            assertArrayEquals(learned.weights().getMaxima(), best.weights().getMaxima(), 0f);
            assertEquals(Math.min(onGridLoss, learned.lossAfter()), best.lossAfter(), 1e-12);
        }
    }

    private static LayerwiseCalibration.Reconstructed reconstruct(
            QuantizedLinear layer, LayerSetup setup, NDArray inputs, int iterations, FinalRounding rounding,
            NDManager manager) {
        LayerwiseCalibration optimizer = new LayerwiseCalibration(new CalibrationSettings(iterations, 32, 1e-3f, 1e-3f,
                1e-2f, 1e-2f, 3, LatentStart.FLOAT_WEIGHTS, ReconstructionUnit.LAYER, rounding, GptqTarget.WEIGHTS));
        LayerSamples samples = LayerSamples.of(layer.getQuantizer(), inputs, inputs.duplicate(), null, manager);
        return optimizer.reconstruct(layer.getQuantizer(), setup, samples, Method.NUPES, 0, manager);
    }

    @Test
    void calibrationDataKeepsTheRequestedSampleCount() {
        try (NDManager manager = NDManager.newBaseManager()) {
            java.util.List<NDList> batches = new java.util.ArrayList<>();
            for (int i = 0; i < 5; i++) {
                batches.add(new NDList(manager.full(new Shape(10, 3), (float) i)));
            }
            try (CalibrationData data = CalibrationData.of(batches, 23, manager)) {
                assertEquals(23, data.size());
                NDArray all = data.range(manager, 0, 23).head();
                assertEquals(2f, all.getFloat(22, 0)); // samples 20..22 come from the third batch
            }
            assertThrows(IllegalArgumentException.class, () -> CalibrationData.of(java.util.List.of(), 4, manager));
            assertThrows(IllegalArgumentException.class, () -> CalibrationData.of(batches, 0, manager));
        }
    }
}
