package ai.djl.nupes.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.gptq.Gptq;
import ai.djl.nupes.gptq.HessianAccumulator;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLinear;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;

/** NUPES started at GPTQ's solution: its first quantizer is GPTQ's, codes and scales. */
class LatentStartTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 8})
    void aReconstructionStartedAtGptqQuantizesToGptqsCodesBeforeAnyStep(int groupSize) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random r = new Random(5);
            Linear floatLayer = Linear.builder().setUnits(6).build();
            floatLayer.initialize(manager, DataType.FLOAT32, new Shape(1, 24));
            floatLayer.getParameters().get("weight").getArray().set(gaussian(r, 6 * 24, 0.3f));
            QuantizerSpec spec = QuantizerSpec.of(3).withGroupSize(groupSize);
            LayerQuantizer layer = new QuantizedLinear("fc", floatLayer, LayerSettings.weightsOnly(spec)).getQuantizer();
            LayerSetup setup = new LayerSetup(layer);
            // correlated inputs, so that GPTQ's error feedback moves codes away from rounding
            float[] x = gaussian(r, 200 * 24, 1f);
            for (int i = 0; i < 200; i++) {
                for (int j = 1; j < 24; j++) {
                    x[i * 24 + j] += 0.8f * x[i * 24 + j - 1];
                }
            }
            HessianAccumulator h = new HessianAccumulator("fc", 24);
            h.add(x, 200);
            QuantizedWeights gptq = Gptq.quantize(
                            "fc", setup.weights, setup.shape, h.hessian(), spec, setup.exponents, Gptq.Options.defaults(true))
                    .weights();

            QuantizedWeights fromGptq = new PowerReconstruction(manager, setup, gptq, 1e-3f, 1e-3f, 1e-2f).finish();
            assertArrayEquals(gptq.getCodes(), fromGptq.getCodes());
            assertArrayEquals(gptq.getMaxima(), fromGptq.getMaxima(), 1e-6f);
            assertArrayEquals(gptq.getExponents(), fromGptq.getExponents(), 0f);

            // the float start rounds to nearest instead: the comparison above can tell them apart
            QuantizedWeights fromFloat = new PowerReconstruction(manager, setup, 1e-3f, 1e-3f, 1e-2f).finish();
            assertFalse(Arrays.equals(gptq.getCodes(), fromFloat.getCodes()), "GPTQ changed no code");
            assertEquals(setup.maxima.length, fromFloat.getMaxima().length);
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
