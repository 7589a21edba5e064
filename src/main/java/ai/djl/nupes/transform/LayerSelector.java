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
    public record LayerCandidate(String path, Block block, boolean table) {

        /**
         * A Linear or convolution layer.
         *
         * @param path the layer's path
         * @param block the float layer
         */
        public LayerCandidate(String path, Block block) {
            this(path, block, false);
        }
    }

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
     * @param groupSize weights per scale along a channel (or table row), 0 for one per channel
     * @param tableBits bits of weight tables (token and position embeddings), 32 to leave them float
     */
    public record Defaults(int bits, Grid grid, int activationBits, int groupSize, int tableBits) {

        /** Validates the bit widths. */
        public Defaults {
            QuantizerSpec.checkBits(bits);
            if (activationBits != LayerSettings.FLOAT_INPUTS) {
                QuantizerSpec.checkBits(activationBits);
            }
            if (tableBits != LayerSettings.FLOAT_INPUTS) {
                QuantizerSpec.checkBits(tableBits);
            }
            if (groupSize < 0) {
                throw new IllegalArgumentException("group size must be 0 (per channel) or positive, got " + groupSize);
            }
        }

        /**
         * Weights-only defaults with one scale per channel and float tables.
         *
         * @param bits weight bits
         * @param grid the grid, or null for the default of the bits
         * @param activationBits input bits, or 32
         */
        public Defaults(int bits, Grid grid, int activationBits) {
            this(bits, grid, activationBits, 0, LayerSettings.FLOAT_INPUTS);
        }

        /**
         * Whether weight tables are quantized.
         *
         * @return true when table bits are below 32
         */
        public boolean quantizesTables() {
            return tableBits != LayerSettings.FLOAT_INPUTS;
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
        int first = -1;
        int last = -1;
        for (int i = 0; i < candidates.size(); i++) {
            if (!candidates.get(i).table()) {
                first = first < 0 ? i : first;
                last = i;
            }
        }
        for (int i = 0; i < candidates.size(); i++) {
            LayerCandidate c = candidates.get(i);
            if (!accepts(c) || (c.table() && !defaults.quantizesTables())) {
                settings.add(null);
                continue;
            }
            int layerBits = c.table() ? defaults.tableBits() : defaults.bits();
            Integer override = overrideFor(c.path());
            if (override != null) {
                layerBits = override;
            } else if (keepFirstAndLastAt8Bits && (i == first || i == last)) {
                layerBits = 8;
            }
            Grid grid = defaults.grid() != null ? defaults.grid() : Grid.defaultFor(layerBits);
            QuantizerSpec spec = QuantizerSpec.of(layerBits, scaleGranularity, exponentGranularity)
                    .withGrid(grid)
                    .withGroupSize(defaults.groupSize());
            // a table's inputs are row indices: never quantized
            int inputBits = c.table() ? LayerSettings.FLOAT_INPUTS : defaults.activationBits();
            settings.add(new LayerSettings(spec, inputBits, c.table()));
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
