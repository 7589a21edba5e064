package ai.djl.nupes.export;

import java.util.Locale;

/** Which arithmetic a frozen model's quantized layers run, chosen at load ({@code path=...}). */
public enum ExecutionPath {
    /** Decoded float weights, fake-quantized float inputs, the engine's matMul/convolution. */
    FLOAT,
    /**
     * Integer codes of weights and inputs through {@link ai.djl.nupes.integer.IntegerLayer} (pure
     * Java, on the host): needs quantized inputs, one exponent per layer, and a Linear or 1-/2-d
     * convolution.
     */
    INTEGER;

    /**
     * Parses a {@code path} argument.
     *
     * @param value {@code float} or {@code integer}, any case; null for the default (float)
     * @return the path
     * @throws IllegalArgumentException naming the value and the choices
     */
    public static ExecutionPath of(Object value) {
        String v = value == null ? "float" : value.toString().trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "float" -> FLOAT;
            case "integer" -> INTEGER;
            default -> throw new IllegalArgumentException("argument path=" + value + " is not one of float, integer");
        };
    }
}
