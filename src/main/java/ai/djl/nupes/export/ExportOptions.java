package ai.djl.nupes.export;

import ai.djl.nupes.format.Manifest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Options of {@link FrozenExporter#export}. Build with {@link #builder()}.
 *
 * <p>By default the architecture is read from the {@code serving.properties} the model was loaded
 * from (its {@code blockFactory} and other non-option keys), an existing directory is refused, and
 * the frozen model decodes its weights once and caches them.
 */
public final class ExportOptions {

    private final String modelName;
    private final String blockFactory;
    private final Map<String, String> arguments;
    private final boolean overwrite;
    private final String decode;
    private final Manifest.Accuracy accuracy;
    private final java.util.List<java.nio.file.Path> files;
    private final Map<String, String> servingProperties;

    private ExportOptions(Builder b) {
        this.modelName = b.modelName;
        this.blockFactory = b.blockFactory;
        this.arguments = Map.copyOf(b.arguments);
        this.overwrite = b.overwrite;
        this.decode = b.decode;
        this.accuracy = b.accuracy;
        this.files = java.util.List.copyOf(b.files);
        this.servingProperties = Map.copyOf(b.servingProperties);
    }

    /**
     * Returns a builder.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    String modelName() {
        return modelName;
    }

    String blockFactory() {
        return blockFactory;
    }

    Map<String, String> arguments() {
        return arguments;
    }

    boolean overwrite() {
        return overwrite;
    }

    String decode() {
        return decode;
    }

    Manifest.Accuracy accuracy() {
        return accuracy;
    }

    java.util.List<java.nio.file.Path> files() {
        return files;
    }

    Map<String, String> servingProperties() {
        return servingProperties;
    }

    /** Builds {@link ExportOptions}. */
    public static final class Builder {
        private String modelName;
        private String blockFactory;
        private final Map<String, String> arguments = new LinkedHashMap<>();
        private boolean overwrite;
        private String decode = "cached";
        private Manifest.Accuracy accuracy;
        private final java.util.List<java.nio.file.Path> files = new java.util.ArrayList<>();
        private final Map<String, String> servingProperties = new LinkedHashMap<>();

        Builder() {}

        /**
         * Copies a file the model needs at load time (a tokenizer, a vocabulary) into the
         * directory under its own name; the manifest records its SHA-256 and loading checks it.
         *
         * @param file the file
         * @return this builder
         */
        public Builder optFile(java.nio.file.Path file) {
            this.files.add(Objects.requireNonNull(file, "file"));
            return this;
        }

        /**
         * Adds a line to the frozen directory's {@code serving.properties} (for example a
         * translator's options: {@code pooling=mean}); the keys this exporter writes itself
         * ({@code engine}, {@code blockFactory}, {@code option.modelName}) cannot be replaced.
         *
         * @param key the key
         * @param value the value
         * @return this builder
         */
        public Builder optServingProperty(String key, String value) {
            if (List.of("engine", "blockFactory", "option.modelName").contains(key)) {
                throw new IllegalArgumentException("serving.properties key '" + key + "' is written by the exporter");
            }
            servingProperties.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * Names the parameter file prefix (default: the directory name).
         *
         * @param name the model name
         * @return this builder
         */
        public Builder optModelName(String name) {
            this.modelName = name;
            return this;
        }

        /**
         * Names the float architecture when the model was not loaded from a directory whose
         * {@code serving.properties} names one.
         *
         * @param factoryClass a {@code BlockFactory} class name
         * @param factoryArguments its arguments
         * @return this builder
         */
        public Builder optArchitecture(String factoryClass, Map<String, String> factoryArguments) {
            this.blockFactory = Objects.requireNonNull(factoryClass, "factoryClass");
            this.arguments.clear();
            this.arguments.putAll(factoryArguments);
            return this;
        }

        /**
         * Replaces an existing directory (default: refuse).
         *
         * @param overwrite the switch
         * @return this builder
         */
        public Builder optOverwrite(boolean overwrite) {
            this.overwrite = overwrite;
            return this;
        }

        /**
         * Decodes at every forward instead of caching decoded weights.
         *
         * @param eachForward true for decode-at-forward
         * @return this builder
         */
        public Builder optDecodeEachForward(boolean eachForward) {
            this.decode = eachForward ? "each-forward" : "cached";
            return this;
        }

        /**
         * Records accuracy measured before export in the manifest.
         *
         * @param floatAccuracy the float model's
         * @param quantizedAccuracy the quantized model's
         * @param samples test samples
         * @return this builder
         */
        public Builder optAccuracy(double floatAccuracy, double quantizedAccuracy, long samples) {
            this.accuracy = new Manifest.Accuracy(floatAccuracy, quantizedAccuracy, samples);
            return this;
        }

        /**
         * Builds the options.
         *
         * @return the options
         */
        public ExportOptions build() {
            return new ExportOptions(this);
        }
    }
}
