package ai.djl.nupes.calibrate;

import ai.djl.nupes.Method;

/** What one reconstruction learns at a time, and whose output its loss compares with the float model's. */
public enum ReconstructionUnit {

    /** One layer: the loss on the layer's output (the default). */
    LAYER("layer"),

    /**
     * One stage of the model's forward chain ({@link ai.djl.nupes.StagedBlock}, a {@link
     * ai.djl.nn.SequentialBlock}'s children): an encoder layer or a residual block learned as one
     * unit, every weights-only layer in it together, the loss on the stage's output over real
     * positions (our design, after BRECQ's block reconstruction).
     */
    STAGE("stage");

    private final String id;

    ReconstructionUnit(String id) {
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
     * Whether this unit changes how {@code method} calibrates: {@link #STAGE} for the learned
     * methods (nupes, nupes-fixed-a, learned-rounding); GPTQ and the data-free methods always work
     * layer by layer.
     *
     * @param method the method
     * @return true when a config with this unit and method differs from one with {@link #LAYER}
     */
    public boolean appliesTo(Method method) {
        return this == STAGE && method.needsCalibrationData() && !method.isGptq();
    }

    /**
     * Parses an id exactly.
     *
     * @param id {@code layer} or {@code stage}
     * @return the unit
     * @throws IllegalArgumentException for any other value
     */
    public static ReconstructionUnit of(String id) {
        for (ReconstructionUnit u : values()) {
            if (u.id.equals(id)) {
                return u;
            }
        }
        throw new IllegalArgumentException("reconstruction unit must be layer or stage, got '" + id + "'");
    }
}
