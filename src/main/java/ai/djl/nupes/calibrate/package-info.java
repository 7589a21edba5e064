/**
 * Calibration: data-free exponent choice, and NUPES's data-driven optimization of exponents and
 * quantized weights on calibration batches.
 */
package ai.djl.nupes.calibrate;
