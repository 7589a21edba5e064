package ai.djl.nupes.calibrate;

/**
 * Settings of the reconstruction loop.
 *
 * @param iterations Adam steps per layer
 * @param batchSize samples per step
 * @param weightLearningRate learning rate of the latent weights (in units of the channel maximum)
 * @param scaleLearningRate learning rate of the log channel scale
 * @param exponentLearningRate learning rate of the exponent
 * @param roundingLearningRate learning rate of the learned-rounding variables
 * @param seed seed of the batch sampling
 * @param latentStart where NUPES's latent weights start
 * @param unit what one reconstruction learns
 * @param finalRounding which codes a layer whose grid was learned ends with (layer unit only)
 * @param gptqTarget what every GPTQ rounding of the calibration fits
 */
public record CalibrationSettings(
        int iterations,
        int batchSize,
        float weightLearningRate,
        float scaleLearningRate,
        float exponentLearningRate,
        float roundingLearningRate,
        long seed,
        LatentStart latentStart,
        ReconstructionUnit unit,
        FinalRounding finalRounding,
        GptqTarget gptqTarget) {

    /** Validates the settings. */
    public CalibrationSettings {
        java.util.Objects.requireNonNull(latentStart, "latentStart");
        java.util.Objects.requireNonNull(unit, "unit");
        java.util.Objects.requireNonNull(finalRounding, "finalRounding");
        java.util.Objects.requireNonNull(gptqTarget, "gptqTarget");
        if (iterations < 0) {
            throw new IllegalArgumentException("iterations must be ≥ 0, got " + iterations);
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        for (float lr : new float[] {weightLearningRate, scaleLearningRate, exponentLearningRate, roundingLearningRate}) {
            if (!(lr >= 0) || !Float.isFinite(lr)) {
                throw new IllegalArgumentException("learning rates must be finite and ≥ 0, got " + lr);
            }
        }
    }

    /**
     * GPTQ's settings: the reference's blocks of 128 and 1 % damping, with act-order.
     *
     * @return the options
     */
    public ai.djl.nupes.gptq.Gptq.Options gptqOptions() {
        return ai.djl.nupes.gptq.Gptq.Options.defaults(true);
    }
}
