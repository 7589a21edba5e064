/**
 * The quantizer math: the power-exponent operator ({@link ai.djl.nupes.quantizer.PowerQuantizer}),
 * its specification, the integer form of a weight tensor and the data-free exponent search.
 *
 * <p>{@link ai.djl.nupes.quantizer.PowerQuantizer} works on Java arrays and is the reference every
 * NDArray path is checked against; {@link ai.djl.nupes.quantizer.PowerQuantizerOps} and the input
 * quantizer are the same operator on NDArrays, with gradients, for calibration and frozen layers.
 */
package ai.djl.nupes.quantizer;
