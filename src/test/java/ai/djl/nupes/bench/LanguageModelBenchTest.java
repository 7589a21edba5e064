package ai.djl.nupes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.nupes.format.Manifest;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

class LanguageModelBenchTest {

    private static Manifest.Layer layer(long out, long in, int bits, int groupSize, int exponents) {
        int packed = (int) ((out * in * bits + 7) / 8);
        return new Manifest.Layer("l", "Linear", bits, "symmetric", new long[] {out, in}, new float[exponents],
                "max", groupSize, 0, "lsb-first", packed, 0, null, Map.of(), null);
    }

    private static Manifest manifest(Manifest.Layer... layers) {
        return new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, Manifest.QUANTIZER_VERSION, "test", "m",
                "m-0000.params", 0, Map.of(), List.of(), null, "cached", List.of(layers), null, null);
    }

    @Test
    void perChannelCountsOneScalePerRowAndTheExponents() {
        // 192 x 768 at 4 bits, 192 scales, one exponent: 4 + 32 * 193 / (192 * 768)
        assertEquals(4 + 32.0 * 193 / (192 * 768), LanguageModelBench.bitsPerWeight(manifest(layer(192, 768, 4, 0, 1))), 1e-12);
    }

    @Test
    void groupsCountARaggedLastGroup() {
        // 768 x 192 with g128: 2 groups per row (128 + 64)
        double bits = 3.0 * 768 * 192 + 32.0 * 768 * 2 + 32.0 * 768;
        assertEquals(bits / (768 * 192),
                LanguageModelBench.bitsPerWeight(manifest(layer(768, 192, 3, 128, 768))), 1e-12);
    }

    @Test
    void layersAreWeightedByTheirSize() {
        Manifest m = manifest(layer(10, 10, 2, 0, 0), layer(10, 30, 2, 0, 0));
        double bits = 8.0 * (25 + 75) + 32.0 * 20;
        assertEquals(bits / 400, LanguageModelBench.bitsPerWeight(m), 1e-12);
    }

    @Test
    void outlierStatisticsAreTheMoments() {
        // ±1: variance 1, fourth moment 1, excess kurtosis -2
        LanguageModelOutliers.Stats s = LanguageModelOutliers.stats("l", new float[] {-1, 1, -1, 1}, 2);
        assertEquals(-2, s.kurtosis(), 1e-12);
        assertEquals(1, s.maxOverStd(), 1e-12);
        assertEquals("2x2", s.shape());
        // 0, 0, 0, 4: mean 1, deviations -1, -1, -1, 3: variance 3, m4 = (1 + 1 + 1 + 81) / 4 = 21
        LanguageModelOutliers.Stats o = LanguageModelOutliers.stats("o", new float[] {0, 0, 0, 4}, 1);
        assertEquals(21.0 / 9 - 3, o.kurtosis(), 1e-12);
        assertEquals(4 / Math.sqrt(3), o.maxOverStd(), 1e-12);
        assertEquals(4 / Math.sqrt(3), o.worstChannelMaxOverStd(), 1e-12);
    }
}
