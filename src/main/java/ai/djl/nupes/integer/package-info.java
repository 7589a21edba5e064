/**
 * The integer-only reference path: integer codes of weights and inputs sharing one power exponent,
 * integer products mapped through one fixed-point table of k^(1/a), long accumulation and one
 * float rescale per output channel.
 */
package ai.djl.nupes.integer;
