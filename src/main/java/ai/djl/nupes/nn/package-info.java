/**
 * Quantized blocks: wrappers that make a float Linear or convolution layer run on power-quantized
 * weights, keeping the float layer and its parameters intact inside; and the frozen blocks that a
 * loaded frozen model runs ({@link ai.djl.nupes.nn.FrozenWeights}, decoding with {@code
 * FrozenDecoder}).
 */
package ai.djl.nupes.nn;
