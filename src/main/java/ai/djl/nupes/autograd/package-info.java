/**
 * Autograd that stays correct on DJL's PyTorch engine: scalars that autograd may keep ({@link
 * ai.djl.nupes.autograd.Scalars}), one gradient collector at a time across threads and in-place
 * updates that work on any thread ({@link ai.djl.nupes.autograd.GradientSteps}). The README's
 * "known engine pitfalls" section says why each exists.
 */
package ai.djl.nupes.autograd;
