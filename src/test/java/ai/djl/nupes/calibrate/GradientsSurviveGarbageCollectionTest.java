package ai.djl.nupes.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.autograd.ScalarGradientReproducer;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLinear;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.InputRange;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.training.ParameterStore;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * One optimisation step of every data-driven method gives the same update whether or not the JVM
 * collects garbage between the forward and the backward pass: no scalar that autograd keeps is
 * freed early (see {@link ai.djl.nupes.autograd.Scalars}).
 */
class GradientsSurviveGarbageCollectionTest {

    private static final int ITERATIONS = 100;

    /** The steps checked: each method in the phase where its numbers enter the graph. */
    enum Case {
        /** NUPES, grid phase: exponent and scale learn. */
        NUPES_GRID_PHASE(0, false),
        /** NUPES, weight phase: latent weights and scale learn. */
        NUPES_WEIGHT_PHASE(ITERATIONS / 2, false),
        /** NUPES with the exponent frozen. */
        NUPES_FIXED_EXPONENT(ITERATIONS / 2, false),
        /** Learned rounding after the warm-up, with its regulariser. */
        LEARNED_ROUNDING(ITERATIONS / 2, false),
        /** NUPES grid phase with quantized inputs: the exponent also learns through the inputs. */
        INPUT_QUANTIZER_LEARNING(0, true);

        final int iteration;
        final boolean quantizedInputs;

        Case(int iteration, boolean quantizedInputs) {
            this.iteration = iteration;
            this.quantizedInputs = quantizedInputs;
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void oneStepIsTheSameWithAGarbageCollectionBeforeBackward(Case c) {
        List<float[]> plain = stepOnce(c, false);
        List<float[]> collected = stepOnce(c, true);
        for (int i = 0; i < plain.size(); i++) {
            for (float v : collected.get(i)) {
                assertTrue(Float.isFinite(v), c + ": variable " + i + " holds " + v + " after the step");
            }
            assertArrayEquals(plain.get(i), collected.get(i), 0f, c + ": variable " + i + " differs");
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void theStepMovesTheLearnedVariables(Case c) {
        List<float[]> before = stepOnce(c, false, false);
        List<float[]> after = stepOnce(c, false);
        boolean moved = false;
        for (int i = 0; i < before.size(); i++) {
            moved |= !Arrays.equals(before.get(i), after.get(i));
        }
        assertTrue(moved, c + ": no variable changed, so the first test would prove nothing");
    }

    /**
     * Documents why {@code Scalars} exists: on DJL 0.36 / PyTorch 2.7.1 the engine's own {@code
     * x.div(4f)} gives a wrong gradient after a collection. Delete this test (keep the one above)
     * once DJL keeps the scalars of Number arithmetic alive.
     */
    @org.junit.jupiter.api.Test
    void theEngineStillComputesGradientsFromFreedScalars() {
        boolean wrong = false;
        for (int run = 0; run < 5 && !wrong; run++) {
            wrong = ScalarGradientReproducer.gradientAfterCollection(x -> x.div(4f)) != 0.25f;
        }
        assertTrue(wrong, "x.div(4f) gave the right gradient 5 times: the engine may be fixed");
        for (int run = 0; run < 5; run++) {
            float g = ScalarGradientReproducer.gradientAfterCollection(
                    x -> ai.djl.nupes.autograd.Scalars.div(x, 4f));
            assertFalse(g != 0.25f, "Scalars.div(x, 4f) gave gradient " + g);
        }
    }

    private static List<float[]> stepOnce(Case c, boolean collectBeforeBackward) {
        return stepOnce(c, collectBeforeBackward, true);
    }

    /** Builds a seeded 8→4 layer, runs one step (or none) and returns every learned variable. */
    private static List<float[]> stepOnce(Case c, boolean collectBeforeBackward, boolean doStep) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random r = new Random(11);
            Linear floatLayer = Linear.builder().setUnits(4).build();
            floatLayer.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            floatLayer.getParameters().get("weight").getArray().set(gaussian(r, 32, 0.3f));
            floatLayer.getParameters().get("bias").getArray().set(gaussian(r, 4, 0.1f));
            QuantizedLinear wrapper = new QuantizedLinear("fc", floatLayer, LayerSettings.weightsOnly(QuantizerSpec.of(3)));
            LayerQuantizer layer = wrapper.getQuantizer();
            NDArray floatInputs = manager.create(gaussian(r, 32 * 8, 1f), new Shape(32, 8));
            NDArray quantizedInputs = floatInputs.add(manager.create(gaussian(r, 32 * 8, 0.05f), new Shape(32, 8)));
            if (c.quantizedInputs) {
                layer.setInputQuantizer(
                        InputQuantizer.of(4, InputRange.estimate(quantizedInputs.toFloatArray(), InputRange.Estimator.MAX)));
            }
            LayerSetup setup = new LayerSetup(layer);
            LayerReconstruction recon =
                    switch (c) {
                        case LEARNED_ROUNDING -> new RoundingReconstruction(manager, setup, 1e-2f);
                        case NUPES_FIXED_EXPONENT -> new PowerReconstruction(manager, setup, 5e-3f, 1e-3f, 0f);
                        default -> new PowerReconstruction(manager, setup, 5e-3f, 1e-3f, 1e-2f);
                    };
            NDArray target =
                    floatLayer.forward(new ParameterStore(manager, false), new NDList(floatInputs), false).head();
            if (doStep) {
                try (NDManager step = manager.newSubManager()) {
                    step.tempAttachAll(LayerwiseCalibration.ownedArrays(recon, quantizedInputs, target));
                    Runnable churn = collectBeforeBackward ? () -> ScalarGradientReproducer.churn(step) : null;
                    LayerwiseCalibration.step(
                            layer, recon, quantizedInputs, target, 2f, c.iteration, ITERATIONS, step, churn);
                }
            }
            List<float[]> values = new ArrayList<>();
            for (Adam adam : recon.optimizers()) {
                values.add(adam.variable().toFloatArray());
            }
            return values;
        }
    }

    private static float[] gaussian(Random r, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * std);
        }
        return v;
    }
}
