/**
 * Calibration: data-free exponent choice ({@link ai.djl.nupes.calibrate.DataFreeCalibration}),
 * input ranges ({@link ai.djl.nupes.calibrate.InputCalibration}) and the layer-by-layer
 * reconstruction on calibration data that runs NUPES and learned rounding ({@link
 * ai.djl.nupes.calibrate.LayerwiseCalibration}), GPTQ in its sequential mode, fitting the float
 * weights or the float model's outputs ({@link ai.djl.nupes.calibrate.GptqTarget}); calibration
 * inputs are checked against the model first ({@link ai.djl.nupes.calibrate.ModelFit}).
 */
package ai.djl.nupes.calibrate;
