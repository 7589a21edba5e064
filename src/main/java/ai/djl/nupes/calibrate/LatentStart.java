package ai.djl.nupes.calibrate;

/** Where NUPES's latent weights start, before the first gradient step. */
public enum LatentStart {

    /** The float weights (each layer's data-free quantizer is the first one the loss sees). */
    FLOAT_WEIGHTS,

    /**
     * The {@code gptq-power} solution on the layer's data-free exponent, computed from the same
     * inputs the reconstruction uses; the exponent starts where that search put it.
     */
    GPTQ_POWER
}
