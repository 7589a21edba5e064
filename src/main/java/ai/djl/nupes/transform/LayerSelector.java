package ai.djl.nupes.transform;

import ai.djl.nn.Block;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.nupes.quantizer.QuantizerSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Which layers get quantized, and the one place where each layer's complete {@link LayerSettings}
 * (bits, grid, granularities, input bits) are assembled from the config's defaults and these rules.
 *
 * <p>Layers are named by their path in the block tree, child names joined by {@code /} (for
 * example {@code 02SequentialBlock/01Conv2d}). Patterns are Java regular expressions matched
 * anywhere in the path ({@link java.util.regex.Matcher#find()}). The rules, in order: a layer must
 * match an include pattern (when any is given), match no exclude pattern and pass the filter; its
 * bits come from the first matching override, else from the first/last rule, else from the
 * config's default bits; its grid is the config's grid, or {@link Grid#defaultFor} its own bits.
 */
public final class LayerSelector {

    private final List<Pattern> includes;
    private final List<Pattern> excludes;
    private final Predicate<LayerCandidate> filter;
    private final Map<Pattern, Integer> bitOverrides;
    private final boolean keepFirstAndLastAt8Bits;
    private final Granularity scaleGranularity;
    private final Granularity exponentGranularity;

    private LayerSelector(Builder b) {
        this.includes = List.copyOf(b.includes);
        this.excludes = List.copyOf(b.excludes);
        this.filter = b.filter;
        this.bitOverrides = Collections.unmodifiableMap(new LinkedHashMap<>(b.bitOverrides));
        this.keepFirstAndLastAt8Bits = b.keepFirstAndLastAt8Bits;
        this.scaleGranularity = b.scaleGranularity;
        this.exponentGranularity = b.exponentGranularity;
        QuantizerSpec.of(QuantizerSpec.MAX_BITS, scaleGranularity, exponentGranularity); // validates the combination
    }

    /**
     * A layer the transformer found, in network order.
     *
     * @param path the layer's path
     * @param block the float layer
     */
    public record LayerCandidate(String path, Block block) {}

    /**
     * A selector that quantizes every layer at the config's bits.
     *
     * @return the selector
     */
    public static LayerSelector allLayers() {
        return builder().build();
    }

    /**
     * The config-wide settings a layer gets unless a rule says otherwise.
     *
     * @param bits weight bits, 2..8
     * @param grid the grid of every layer, or null for {@link Grid#defaultFor} each layer's bits
     * @param activationBits input bits, 2..8, or 32 for float inputs
     */
    public record Defaults(int bits, Grid grid, int activationBits) {

        /** Validates the bit widths. */
        public Defaults {
            QuantizerSpec.checkBits(bits);
            if (activationBits != LayerSettings.FLOAT_INPUTS) {
                QuantizerSpec.checkBits(activationBits);
            }
        }
    }

    /**
     * Returns a builder.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Decides, for each candidate in network order, its complete settings, or null to leave it
     * float.
     *
     * @param candidates every quantizable layer, in network order
     * @param defaults the config-wide settings
     * @return one settings record (or null) per candidate
     */
    public List<LayerSettings> select(List<LayerCandidate> candidates, Defaults defaults) {
        List<LayerSettings> settings = new ArrayList<>(candidates.size());
        int last = candidates.size() - 1;
        for (int i = 0; i < candidates.size(); i++) {
            LayerCandidate c = candidates.get(i);
            if (!accepts(c)) {
                settings.add(null);
                continue;
            }
            int layerBits = defaults.bits();
            Integer override = overrideFor(c.path());
            if (override != null) {
                layerBits = override;
            } else if (keepFirstAndLastAt8Bits && (i == 0 || i == last)) {
                layerBits = 8;
            }
            Grid grid = defaults.grid() != null ? defaults.grid() : Grid.defaultFor(layerBits);
            QuantizerSpec spec = QuantizerSpec.of(layerBits, scaleGranularity, exponentGranularity).withGrid(grid);
            settings.add(new LayerSettings(spec, defaults.activationBits()));
        }
        return settings;
    }

    private boolean accepts(LayerCandidate c) {
        if (!includes.isEmpty() && includes.stream().noneMatch(p -> p.matcher(c.path()).find())) {
            return false;
        }
        if (excludes.stream().anyMatch(p -> p.matcher(c.path()).find())) {
            return false;
        }
        return filter == null || filter.test(c);
    }

    private Integer overrideFor(String path) {
        for (Map.Entry<Pattern, Integer> e : bitOverrides.entrySet()) {
            if (e.getKey().matcher(path).find()) {
                return e.getValue();
            }
        }
        return null;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "LayerSelector{include=" + includes + ", exclude=" + excludes
                + ", overrides=" + bitOverrides + ", firstLast8=" + keepFirstAndLastAt8Bits
                + ", scale=" + scaleGranularity + ", exponent=" + exponentGranularity + '}';
    }

    /** Builds a {@link LayerSelector}. */
    public static final class Builder {

        private final List<Pattern> includes = new ArrayList<>();
        private final List<Pattern> excludes = new ArrayList<>();
        private Predicate<LayerCandidate> filter;
        private final Map<Pattern, Integer> bitOverrides = new LinkedHashMap<>();
        private boolean keepFirstAndLastAt8Bits;
        private Granularity scaleGranularity = Granularity.PER_CHANNEL;
        private Granularity exponentGranularity = Granularity.PER_TENSOR;

        Builder() {}

        /**
         * Quantizes only layers whose path matches one of the include patterns.
         *
         * @param regex a regular expression, found anywhere in the path
         * @return this builder
         */
        public Builder optInclude(String regex) {
            includes.add(Pattern.compile(regex));
            return this;
        }

        /**
         * Leaves layers whose path matches the pattern in float.
         *
         * @param regex a regular expression, found anywhere in the path
         * @return this builder
         */
        public Builder optExclude(String regex) {
            excludes.add(Pattern.compile(regex));
            return this;
        }

        /**
         * Quantizes only layers the predicate accepts.
         *
         * @param filter the predicate
         * @return this builder
         */
        public Builder optFilter(Predicate<LayerCandidate> filter) {
            this.filter = filter;
            return this;
        }

        /**
         * Gives layers whose path matches the pattern their own bit width; the first matching
         * override wins.
         *
         * @param regex a regular expression, found anywhere in the path
         * @param layerBits the bit width, 2..8
         * @return this builder
         */
        public Builder optBits(String regex, int layerBits) {
            bitOverrides.put(Pattern.compile(regex), QuantizerSpec.checkBits(layerBits));
            return this;
        }

        /**
         * Keeps the first and last quantizable layers at 8 bits (unless an override names them).
         *
         * @param keep the switch
         * @return this builder
         */
        public Builder optKeepFirstAndLastAt8Bits(boolean keep) {
            this.keepFirstAndLastAt8Bits = keep;
            return this;
        }

        /**
         * Sets whether the maximum m is per output channel (default) or per tensor.
         *
         * @param granularity the granularity
         * @return this builder
         */
        public Builder optScaleGranularity(Granularity granularity) {
            this.scaleGranularity = granularity;
            return this;
        }

        /**
         * Sets whether the exponent is per layer (default) or per output channel.
         *
         * @param granularity the granularity
         * @return this builder
         */
        public Builder optExponentGranularity(Granularity granularity) {
            this.exponentGranularity = granularity;
            return this;
        }

        /**
         * Builds the selector.
         *
         * @return the selector
         */
        public LayerSelector build() {
            return new LayerSelector(this);
        }
    }
}
