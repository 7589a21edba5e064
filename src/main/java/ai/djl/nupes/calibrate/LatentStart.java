package ai.djl.nupes.calibrate;

import ai.djl.nupes.Method;

/** Where NUPES's latent weights start, before the first gradient step. */
public enum LatentStart {

    /** The float weights (each layer's data-free quantizer is the first one the loss sees). */
    FLOAT_WEIGHTS("float-weights"),

    /**
     * The {@code gptq-power} solution on the layer's data-free exponent, computed from the same
     * inputs the reconstruction uses and fitting what {@link GptqTarget} says; the exponent starts
     * where that search put it.
     */
    GPTQ_POWER("gptq-power");

    private final String id;

    LatentStart(String id) {
        this.id = id;
    }

    /**
     * Returns the name used on command lines.
     *
     * @return the id
     */
    public String id() {
        return id;
    }

    /**
     * Parses an id exactly.
     *
     * @param id {@code float-weights} or {@code gptq-power}
     * @return the start
     * @throws IllegalArgumentException for any other value
     */
    public static LatentStart of(String id) {
        for (LatentStart s : values()) {
            if (s.id.equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("'" + id + "' is neither float-weights nor gptq-power");
    }

    /**
     * Whether a method has latent weights that start here: NUPES and its fixed-exponent ablation
     * (learned rounding learns offsets from rounding, GPTQ and the data-free methods learn nothing).
     *
     * @param method the method
     * @return true when this start changes what the method does
     */
    public boolean appliesTo(Method method) {
        return this == GPTQ_POWER && (method == Method.NUPES || method == Method.NUPES_FIXED_EXPONENT);
    }
}
