/**
 * djl-nupes: power-exponent post-training quantization for DJL models.
 *
 * <p>{@link ai.djl.nupes.Nupes#quantize} is the one call; {@link ai.djl.nupes.NupesConfig} says
 * what to do and {@link ai.djl.nupes.QuantizationReport} says what was done.
 */
package ai.djl.nupes;
