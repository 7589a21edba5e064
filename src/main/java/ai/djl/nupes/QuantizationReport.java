package ai.djl.nupes;

import java.util.List;
import java.util.Locale;

/**
 * What one {@link Nupes#quantize} call did: the method, every layer's outcome and the total time.
 *
 * @param method the method
 * @param layers one report per quantized layer, in network order
 * @param leftAsIs the blocks left in float, as {@code path (Class)}
 * @param calibrationSamples the number of calibration samples used (0 when data-free)
 * @param calibrationSha256 SHA-256 of the calibration inputs' bytes (null when data-free)
 * @param seed the seed
 * @param seconds total wall time
 */
public record QuantizationReport(
        Method method,
        List<LayerReport> layers,
        List<String> leftAsIs,
        int calibrationSamples,
        String calibrationSha256,
        long seed,
        double seconds) {

    /**
     * Returns the report of one layer.
     *
     * @param path the layer path
     * @return its report
     * @throws IllegalArgumentException when no layer has that path
     */
    public LayerReport layer(String path) {
        return layers.stream()
                .filter(l -> l.path().equals(path))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no quantized layer '" + path + "'"));
    }

    /**
     * Stored bits per quantized weight over every quantized layer: codes, scales and exponents.
     *
     * @return bits per weight
     */
    public double bitsPerWeight() {
        double bits = 0;
        long weights = 0;
        for (LayerReport l : layers) {
            bits += l.bitsPerWeight() * l.weights();
            weights += l.weights();
        }
        return weights == 0 ? 0 : bits / weights;
    }

    /**
     * Formats the per-layer table as markdown.
     *
     * @return the table
     */
    public String toMarkdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("| layer | bits | bits/weight | a (init → final) | weight rel. err | loss before → after | s |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (LayerReport l : layers) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %d | %.3f | %.3f → %.3f | %.2e | %s | %.2f |%n",
                            l.path(),
                            l.bits(),
                            l.bitsPerWeight(),
                            l.initialExponent(),
                            l.exponent(),
                            l.weightError(),
                            Double.isNaN(l.lossBefore()) && Double.isNaN(l.lossAfter())
                                    ? "— (data-free)"
                                    : String.format(Locale.ROOT, "%.3e → %.3e", l.lossBefore(), l.lossAfter()),
                            l.seconds()));
        }
        return sb.toString();
    }
}
