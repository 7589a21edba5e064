package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Method;
import ai.djl.nupes.quantizer.QuantizedWeights;

import java.util.List;

/**
 * The learnable form of one layer's quantizer during reconstruction: which variables Adam moves,
 * the weights they give, an optional regulariser, and the integer form they end in.
 */
interface LayerReconstruction {

    /**
     * Returns the optimizers of the learnable variables (possibly empty for a frozen part).
     *
     * @return one Adam per variable
     */
    List<Adam> optimizers();

    /**
     * Arrays (besides the optimizers') that a step must temporarily own.
     *
     * @return the constant arrays used by {@link #weights}
     */
    NDArray[] constants();

    /**
     * Computes the weights the layer uses this step, inside the gradient collector; variables that
     * do not learn at this iteration are kept out of the graph.
     *
     * @param iteration the iteration, 0-based
     * @param iterations the total
     * @return the (fake-)quantized weights in the layer's weight shape
     */
    NDArray weights(int iteration, int iterations);

    /**
     * The exponent the layer's input quantizer uses this step: the learned exponent, in the graph
     * while it learns, so that weights and inputs learn one exponent together.
     *
     * @param iteration the iteration
     * @param iterations the total
     * @return the exponent (one value)
     */
    NDArray inputExponent(int iteration, int iterations);

    /**
     * A regularisation term added to the normalised loss; null for none.
     *
     * @param iteration the current iteration, 0-based
     * @param iterations the total
     * @param manager the step manager
     * @return the term or null
     */
    default NDArray regularizer(int iteration, int iterations, NDManager manager) {
        return null;
    }

    /**
     * Returns the mean exponent now (for logs and reports).
     *
     * @return the exponent
     */
    float exponent();

    /**
     * Turns the learned state into codes, maxima and exponents.
     *
     * @return the integer form
     */
    QuantizedWeights finish();

    /**
     * The learnable form of a layer for a data-driven method.
     *
     * @param method {@link Method#NUPES}, {@link Method#NUPES_FIXED_EXPONENT} or {@link
     *     Method#LEARNED_ROUNDING}
     * @param setup the layer's float weights and data-free start
     * @param start where NUPES's latent weights start (GPTQ's codes), or null for the float weights
     * @param settings the learning rates
     * @param unit the manager of its arrays
     * @return the reconstruction
     */
    static LayerReconstruction create(
            Method method, LayerSetup setup, QuantizedWeights start, CalibrationSettings settings, NDManager unit) {
        switch (method) {
            case NUPES:
                return new PowerReconstruction(
                        unit, setup, start, settings.weightLearningRate(), settings.scaleLearningRate(),
                        settings.exponentLearningRate());
            case NUPES_FIXED_EXPONENT:
                return new PowerReconstruction(
                        unit, setup, start, settings.weightLearningRate(), settings.scaleLearningRate(), 0f);
            case LEARNED_ROUNDING:
                return new RoundingReconstruction(unit, setup, settings.roundingLearningRate());
            default:
                throw new IllegalArgumentException(method + " is not a calibration method");
        }
    }
}
