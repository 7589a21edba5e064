/**
 * The quantizer math: the power-exponent operator ({@link ai.djl.nupes.quantizer.PowerQuantizer}),
 * its specification, the integer form of a weight tensor and the data-free exponent search.
 *
 * <p>Nothing in this package touches an engine: it works on Java arrays and is the reference every
 * NDArray path is checked against.
 */
package ai.djl.nupes.quantizer;
