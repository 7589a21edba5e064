/**
 * The block transformer: finds the Linear and convolution layers of any DJL block tree, applies the
 * selection policy and swaps in quantized wrappers ({@link ai.djl.nupes.transform.BlockRewriter}
 * is the only class that touches DJL internals to do so).
 */
package ai.djl.nupes.transform;
