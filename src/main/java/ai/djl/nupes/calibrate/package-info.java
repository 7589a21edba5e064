/**
 * Calibration: data-free exponent choice ({@link ai.djl.nupes.calibrate.DataFreeCalibration}),
 * input ranges ({@link ai.djl.nupes.calibrate.InputCalibration}) and the layer-by-layer
 * reconstruction on calibration data that runs NUPES and learned rounding ({@link
 * ai.djl.nupes.calibrate.LayerwiseCalibration}); calibration inputs are checked against the model
 * first ({@link ai.djl.nupes.calibrate.ModelFit}).
 */
package ai.djl.nupes.calibrate;
