/**
 * Quantized blocks: wrappers that make a float Linear or convolution layer run on power-quantized
 * weights, keeping the float layer and its parameters intact inside.
 */
package ai.djl.nupes.nn;
