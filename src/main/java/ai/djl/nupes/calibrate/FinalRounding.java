package ai.djl.nupes.calibrate;

import ai.djl.nupes.Method;

/**
 * Which codes a NUPES layer ends with once its grid (exponent and scales) is learned.
 *
 * <p>NUPES's latent weights learn through a straight-through rounding, whose gradient pulls them
 * toward the continuous least-squares weights; GPTQ's column-by-column rounding with error
 * feedback finds codes that rounding such weights does not (the GPTQ section of the README has
 * the per-layer losses). {@link #BEST_OF_LEARNED_AND_GPTQ} lets each layer have both: the grid
 * from gradient descent, the codes from whichever rounding reconstructs the layer's output better
 * (our design).
 */
public enum FinalRounding {

    /** The codes the learned latent weights round to (the method as published). */
    LEARNED("learned"),

    /**
     * Also runs GPTQ on the learned grid (the layer's learned exponents and scale maxima fixed,
     * the weights {@link GptqTarget} names and the Hessian of the reconstruction's own inputs)
     * and keeps whichever codes give the lower reconstruction loss on the calibration samples.
     */
    BEST_OF_LEARNED_AND_GPTQ("best-of-learned-and-gptq");

    private final String id;

    FinalRounding(String id) {
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
     * @param id {@code learned} or {@code best-of-learned-and-gptq}
     * @return the rounding
     * @throws IllegalArgumentException for any other value
     */
    public static FinalRounding of(String id) {
        for (FinalRounding r : values()) {
            if (r.id.equals(id)) {
                return r;
            }
        }
        throw new IllegalArgumentException("'" + id + "' is neither learned nor best-of-learned-and-gptq");
    }

    /**
     * Whether this choice changes what a method does when it reconstructs layer by layer: {@link
     * #BEST_OF_LEARNED_AND_GPTQ} for NUPES and its fixed-exponent ablation, whose grids are learned
     * (learned rounding keeps the data-free grid, where GPTQ is {@code gptq-power}).
     *
     * @param method the method
     * @return true when this choice changes the method's result
     */
    public boolean appliesTo(Method method) {
        return this == BEST_OF_LEARNED_AND_GPTQ
                && (method == Method.NUPES || method == Method.NUPES_FIXED_EXPONENT);
    }
}
