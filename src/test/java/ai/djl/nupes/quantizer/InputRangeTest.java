package ai.djl.nupes.quantizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.Random;

class InputRangeTest {

    @Test
    void maxEstimatorRecoversTheRangeOfAUniformDistribution() {
        Random r = new Random(2);
        float[] x = new float[100_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 4 - 2); // U(-2, 2)
        }
        InputRange range = InputRange.estimate(x, InputRange.Estimator.MAX);
        assertEquals(2.0, range.scale(), 2e-3);
        assertFalse(range.isUnsigned());
    }

    @Test
    void percentileEstimatorIgnoresOutliersAndFindsTheGaussianTail() {
        Random r = new Random(3);
        float[] x = new float[200_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.max(0, r.nextGaussian()); // ReLU(N(0, 1))
        }
        x[17] = 1000f; // one wild outlier
        InputRange max = InputRange.estimate(x, InputRange.Estimator.MAX);
        InputRange p = InputRange.estimate(x, InputRange.Estimator.PERCENTILE);
        assertEquals(1000f, max.scale());
        // |N(0,1)| after ReLU: P(x > t) = 1e-4 over all samples ⇒ t = Φ⁻¹(1 - 1e-4) ≈ 3.719
        assertEquals(3.719, p.scale(), 0.15);
        assertTrue(p.isUnsigned());
    }

    @Test
    void emptyOrNonFiniteSamplesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> InputRange.estimate(new float[0], InputRange.Estimator.MAX));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InputRange.estimate(new float[] {1f, Float.NaN}, InputRange.Estimator.PERCENTILE));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
    }
}
