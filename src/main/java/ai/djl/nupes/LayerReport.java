package ai.djl.nupes;

/**
 * What quantization did to one layer.
 *
 * @param path the layer's path in the block tree
 * @param bits its weight bits
 * @param exponent its exponent (the mean, when exponents are per channel)
 * @param initialExponent the exponent before calibration (the data-free one)
 * @param weightError relative weight reconstruction error {@code ||W - Ŵ||² / ||W||²}
 * @param lossBefore calibration loss with the initial quantizer (NaN when data-free)
 * @param lossAfter calibration loss after optimization (NaN when data-free)
 * @param seconds wall time spent on this layer
 * @param weights the layer's weight count
 * @param bitsPerWeight stored bits per weight: codes, plus the 32-bit scales and exponents
 */
public record LayerReport(
        String path,
        int bits,
        float exponent,
        float initialExponent,
        double weightError,
        double lossBefore,
        double lossAfter,
        double seconds,
        long weights,
        double bitsPerWeight) {}
