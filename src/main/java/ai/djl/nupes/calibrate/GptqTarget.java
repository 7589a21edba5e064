package ai.djl.nupes.calibrate;

import ai.djl.nupes.Method;

/**
 * What every GPTQ rounding in calibration fits: {@code gptq} and {@code gptq-power}, NUPES's GPTQ
 * start ({@link LatentStart#GPTQ_POWER}) and its final rounding ({@link
 * FinalRounding#BEST_OF_LEARNED_AND_GPTQ}).
 *
 * <p>GPTQ (Frantar et al.) minimises {@code ‖(W − Ŵ)·X_q‖²}: the float weights' output on the
 * inputs the already-quantized prefix delivers. The float model computes {@code W·X_f} on other
 * inputs, and NUPES's own loss measures the distance to that. {@link #FLOAT_OUTPUTS} makes GPTQ
 * fit it as well (our design): since
 *
 * <pre>
 *   ‖W·X_f − Ŵ·X_q‖² = ‖(W' − Ŵ)·X_q‖² + const,   W' = argmin_V ‖W·X_f − V·X_q‖²
 * </pre>
 *
 * GPTQ runs unchanged on W' ({@link OutputTarget}, a ridge fit towards W), so each layer also
 * corrects the error its inputs carry from the quantized layers before it.
 */
public enum GptqTarget {

    /** The float weights W on the quantized-prefix inputs: GPTQ as published. */
    WEIGHTS("weights"),

    /** The float model's outputs: GPTQ on the weights W' that best map X_q to W·X_f. */
    FLOAT_OUTPUTS("float-outputs");

    private final String id;

    GptqTarget(String id) {
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
     * @param id {@code weights} or {@code float-outputs}
     * @return the target
     * @throws IllegalArgumentException for any other value
     */
    public static GptqTarget of(String id) {
        for (GptqTarget t : values()) {
            if (t.id.equals(id)) {
                return t;
            }
        }
        throw new IllegalArgumentException("'" + id + "' is neither weights nor float-outputs");
    }

    /**
     * The target a method's GPTQ roundings fit unless the config says otherwise: {@link #WEIGHTS}
     * for {@code gptq} and {@code gptq-power} (the published algorithm), {@link #FLOAT_OUTPUTS} for
     * the learned methods, whose own loss is the distance to the float outputs.
     *
     * @param method the method
     * @return the default target
     */
    public static GptqTarget defaultFor(Method method) {
        return method.isGptq() ? WEIGHTS : FLOAT_OUTPUTS;
    }
}
