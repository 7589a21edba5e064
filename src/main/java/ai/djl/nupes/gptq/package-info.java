/**
 * GPTQ (Frantar et al., arXiv 2210.17323): column-by-column quantization with the rounding error fed
 * back to the columns not yet quantized through the inverse Hessian of the layer's inputs. It works
 * on any grid of {@link ai.djl.nupes.quantizer.PowerQuantizer}: {@code gptq} on the uniform grid,
 * {@code gptq-power} on the power grid with the layer's data-free exponent.
 */
package ai.djl.nupes.gptq;
