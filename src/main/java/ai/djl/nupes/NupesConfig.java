package ai.djl.nupes;

import ai.djl.nupes.transform.LayerSelector;

import java.util.Objects;

/**
 * Immutable settings of one {@link Nupes#quantize} call. Build with {@link #builder()}.
 *
 * <p>Defaults: 4-bit weights on every Linear and convolution layer, per-channel maxima, one
 * exponent per layer, method {@link Method#POWERQUANT_LAYER}, seed 0.
 */
public final class NupesConfig {

    private final LayerSelector selector;
    private final Method method;
    private final long seed;

    private NupesConfig(Builder b) {
        this.selector = b.selector != null ? b.selector : LayerSelector.allLayers(b.bits);
        this.method = b.method;
        this.seed = b.seed;
    }

    /**
     * Returns a builder with the defaults.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns which layers are quantized and at how many bits.
     *
     * @return the selector
     */
    public LayerSelector getSelector() {
        return selector;
    }

    /**
     * Returns the default weight bit width.
     *
     * @return bits
     */
    public int getBits() {
        return selector.getBits();
    }

    /**
     * Returns the method.
     *
     * @return the method
     */
    public Method getMethod() {
        return method;
    }

    /**
     * Returns the seed.
     *
     * @return the seed
     */
    public long getSeed() {
        return seed;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "NupesConfig{method=" + method + ", " + selector + ", seed=" + seed + '}';
    }

    /** Builds a {@link NupesConfig}. */
    public static final class Builder {

        private int bits = 4;
        private LayerSelector selector;
        private Method method = Method.POWERQUANT_LAYER;
        private long seed;

        Builder() {}

        /**
         * Sets the weight bit width of every layer (2..8, default 4). Ignored when a selector is
         * given.
         *
         * @param bits the bit width
         * @return this builder
         */
        public Builder setBits(int bits) {
            this.bits = ai.djl.nupes.quantizer.QuantizerSpec.checkBits(bits);
            return this;
        }

        /**
         * Chooses layers, per-layer bits and granularities with a selector.
         *
         * @param selector the selector
         * @return this builder
         */
        public Builder optLayerSelector(LayerSelector selector) {
            this.selector = Objects.requireNonNull(selector, "selector");
            return this;
        }

        /**
         * Sets the method (default {@link Method#POWERQUANT_LAYER}).
         *
         * @param method the method
         * @return this builder
         */
        public Builder optMethod(Method method) {
            this.method = Objects.requireNonNull(method, "method");
            return this;
        }

        /**
         * Sets the seed of every random choice (batch order, engine RNG).
         *
         * @param seed the seed
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         */
        public NupesConfig build() {
            return new NupesConfig(this);
        }
    }
}
