package ai.djl.nupes;

import java.util.Locale;

/** How weights are quantized. The ids are the method names used in tables and JSON. */
public enum Method {
    /** Symmetric uniform round-to-nearest (exponent 1). Data-free. */
    UNIFORM("uniform", false),
    /** One power exponent for the whole network minimising weight error (PowerQuant). Data-free. */
    POWERQUANT_GLOBAL("powerquant-global", false),
    /** One power exponent per layer minimising that layer's weight error. Data-free. */
    POWERQUANT_LAYER("powerquant-layer", false),
    /**
     * Learned rounding (AdaRound-style): each weight may only round up or down from its initial
     * grid point; exponent frozen at the data-free value. Needs calibration data.
     */
    LEARNED_ROUNDING("learned-rounding", true),
    /** NUPES with the exponent frozen at its data-free value: whole-grid weights only. */
    NUPES_FIXED_EXPONENT("nupes-fixed-a", true),
    /** NUPES: learned exponent and whole-grid weights on calibration data. */
    NUPES("nupes", true),
    /**
     * GPTQ (Frantar et al.): column-by-column round-to-nearest on the uniform grid with the error
     * fed back through the inverse input Hessian, layer by layer on the quantized prefix's inputs.
     * Weights only. Needs calibration data.
     */
    GPTQ("gptq", true),
    /** GPTQ on the power grid with the layer's data-free exponent. Needs calibration data. */
    GPTQ_POWER("gptq-power", true);

    private final String id;
    private final boolean needsData;

    Method(String id, boolean needsData) {
        this.id = id;
        this.needsData = needsData;
    }

    /**
     * Returns the id used in tables and JSON.
     *
     * @return the id
     */
    public String id() {
        return id;
    }

    /**
     * Whether the method runs on calibration data.
     *
     * @return true for data-driven methods
     */
    public boolean needsCalibrationData() {
        return needsData;
    }

    /**
     * Looks a method up by id or enum name.
     *
     * @param name {@code nupes}, {@code powerquant-layer}, ...
     * @return the method
     */
    public static Method of(String name) {
        for (Method m : values()) {
            if (m.id.equalsIgnoreCase(name) || m.name().equalsIgnoreCase(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException(
                "unknown method '" + name + "'; expected one of uniform, powerquant-global,"
                        + " powerquant-layer, learned-rounding, nupes-fixed-a, nupes, gptq, gptq-power");
    }

    /**
     * Whether the method is GPTQ, on either grid.
     *
     * @return true for {@code gptq} and {@code gptq-power}
     */
    public boolean isGptq() {
        return this == GPTQ || this == GPTQ_POWER;
    }

    /**
     * Whether the method's result depends on the config's seed: the learned methods draw their
     * calibration batches with it; GPTQ and the data-free methods draw nothing.
     *
     * @return true for learned rounding, nupes-fixed-a and nupes
     */
    public boolean usesSeed() {
        return needsData && !isGptq();
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return id.toLowerCase(Locale.ROOT);
    }
}
