package ai.djl.nupes;

import ai.djl.ndarray.NDList;
import ai.djl.nupes.calibrate.CalibrationSettings;
import ai.djl.nupes.calibrate.FinalRounding;
import ai.djl.nupes.calibrate.GptqTarget;
import ai.djl.nupes.calibrate.LatentStart;
import ai.djl.nupes.calibrate.ReconstructionUnit;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.InputRange;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.nupes.transform.LayerSelector;
import ai.djl.training.dataset.Dataset;

import java.util.Objects;

/**
 * Immutable settings of one {@link Nupes#quantize} call. Build with {@link #builder()}.
 *
 * <p>Defaults: 4-bit weights on every Linear and convolution layer, per-channel maxima, one
 * exponent per layer, method {@link Method#POWERQUANT_LAYER}, seed 0. For the data-driven methods:
 * 1024 calibration samples, batches of {@value #DEFAULT_BATCH_SIZE}, {@value #DEFAULT_ITERATIONS}
 * Adam steps per layer, learning rates {@value #DEFAULT_WEIGHT_LR} (latent weights, in units of the
 * channel maximum), {@value #DEFAULT_SCALE_LR} (log scale), {@value #DEFAULT_EXPONENT_LR}
 * (exponent) and {@value #DEFAULT_ROUNDING_LR} (learned rounding).
 */
public final class NupesConfig {

    /** Default calibration sample count. */
    public static final int DEFAULT_SAMPLES = 1024;
    /** Default calibration batch size. */
    public static final int DEFAULT_BATCH_SIZE = 32;
    /** Default Adam steps per layer. */
    public static final int DEFAULT_ITERATIONS = 500;
    /** Default learning rate of the latent weights. */
    public static final float DEFAULT_WEIGHT_LR = 1e-3f;
    /** Default learning rate of the log channel scale. */
    public static final float DEFAULT_SCALE_LR = 1e-3f;
    /** Default learning rate of the exponent. */
    public static final float DEFAULT_EXPONENT_LR = 1e-2f;
    /** Default learning rate of the learned-rounding variables. */
    public static final float DEFAULT_ROUNDING_LR = 1e-2f;
    /** Which codes a NUPES layer reconstructed on its own ends with. */
    public static final FinalRounding DEFAULT_FINAL_ROUNDING = FinalRounding.BEST_OF_LEARNED_AND_GPTQ;

    private final int bits;
    private final int groupSize;
    private final int embeddingBits;
    private final int paddingMaskInput;
    private final LayerSelector selector;
    private final Method method;
    private final long seed;
    private final Dataset calibrationDataset;
    private final Iterable<NDList> calibrationBatches;
    private final int calibrationSamples;
    private final CalibrationSettings calibration;
    private final Grid grid;
    private final int activationBits;
    private final InputRange.Estimator inputEstimator;

    private NupesConfig(Builder b) {
        this.bits = b.bits;
        this.groupSize = b.groupSize;
        this.embeddingBits = b.embeddingBits;
        this.paddingMaskInput = b.paddingMaskInput;
        this.selector = b.selector != null ? b.selector : LayerSelector.allLayers();
        this.method = b.method;
        this.seed = b.seed;
        this.calibrationDataset = b.calibrationDataset;
        this.calibrationBatches = b.calibrationBatches;
        if (b.calibrationSamples <= 0) {
            throw new IllegalArgumentException(
                    "calibration samples must be positive, got " + b.calibrationSamples);
        }
        this.calibrationSamples = b.calibrationSamples;
        this.calibration =
                new CalibrationSettings(
                        b.iterations,
                        b.batchSize,
                        b.weightLearningRate,
                        b.scaleLearningRate,
                        b.exponentLearningRate,
                        b.roundingLearningRate,
                        b.seed,
                        b.latentStart,
                        b.reconstructionUnit,
                        finalRounding(b),
                        b.gptqTarget != null ? b.gptqTarget : GptqTarget.defaultFor(b.method));
        if (b.reconstructionUnit == ReconstructionUnit.STAGE && !b.reconstructionUnit.appliesTo(method)) {
            throw new IllegalArgumentException("reconstruction unit stage applies to the learned methods (nupes,"
                    + " nupes-fixed-a, learned-rounding); " + method + " quantizes layer by layer");
        }
        this.grid = b.grid;
        if (b.activationBits != 32) {
            QuantizerSpec.checkBits(b.activationBits);
        }
        this.activationBits = b.activationBits;
        this.inputEstimator = b.inputEstimator;
        if (needsCalibrationData() && calibrationDataset == null && calibrationBatches == null) {
            throw new IllegalArgumentException(
                    (method.needsCalibrationData()
                                    ? "method " + method + " learns from calibration data"
                                    : "quantized inputs (activation bits " + activationBits + ") need input ranges")
                            + ", and none was given: pass NupesConfig.builder().optCalibrationData(dataset)"
                            + " with a DJL Dataset, or optCalibrationData(batches) with an Iterable<NDList>"
                            + " of model inputs (first axis = batch)");
        }
    }

    /**
     * The final rounding a builder asks for: its own, else the default of its reconstruction unit;
     * refused when GPTQ rounding is asked for stage by stage.
     */
    private static FinalRounding finalRounding(Builder b) {
        if (b.finalRounding == null) {
            return b.reconstructionUnit == ReconstructionUnit.STAGE ? FinalRounding.LEARNED : DEFAULT_FINAL_ROUNDING;
        }
        if (b.finalRounding == FinalRounding.BEST_OF_LEARNED_AND_GPTQ
                && b.reconstructionUnit == ReconstructionUnit.STAGE) {
            throw new IllegalArgumentException("final rounding " + b.finalRounding.id() + " works layer by layer;"
                    + " with reconstruction unit stage a stage's layers keep their learned codes");
        }
        return b.finalRounding;
    }

    /**
     * Whether quantizing with this config runs the model on calibration data: a data-driven method,
     * or quantized inputs (whose ranges are measured).
     *
     * @return true when calibration data is needed
     */
    public boolean needsCalibrationData() {
        return method.needsCalibrationData() || activationBits != LayerSettings.FLOAT_INPUTS;
    }

    /**
     * The config-wide layer settings the selector starts from: bits, grid and input bits.
     *
     * @return the defaults
     */
    public LayerSelector.Defaults getLayerDefaults() {
        return new LayerSelector.Defaults(bits, grid, activationBits, groupSize, embeddingBits);
    }

    /**
     * Returns the input (activation) bit width; 32 means float inputs.
     *
     * @return abits
     */
    public int getActivationBits() {
        return activationBits;
    }

    /**
     * Returns how input ranges are estimated.
     *
     * @return the estimator
     */
    public InputRange.Estimator getInputEstimator() {
        return inputEstimator;
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
     * Returns the group size of the weight scales: weights per scale along a channel, 0 for one
     * scale per output channel.
     *
     * @return the group size
     */
    public int getGroupSize() {
        return groupSize;
    }

    /**
     * Returns which model input is a padding mask, or -1 for none.
     *
     * @return the input index or -1
     */
    public int getPaddingMaskInput() {
        return paddingMaskInput;
    }

    /**
     * Returns the bits of weight tables (token and position embeddings); 32 leaves them float.
     *
     * @return the embedding bits
     */
    public int getEmbeddingBits() {
        return embeddingBits;
    }

    /**
     * Returns the weight bit width of every layer the selector does not override.
     *
     * @return bits
     */
    public int getBits() {
        return bits;
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

    /**
     * Returns the calibration dataset, or null.
     *
     * @return the dataset
     */
    public Dataset getCalibrationDataset() {
        return calibrationDataset;
    }

    /**
     * Returns the calibration batches, or null.
     *
     * @return the batches
     */
    public Iterable<NDList> getCalibrationBatches() {
        return calibrationBatches;
    }

    /**
     * Returns how many calibration samples are used.
     *
     * @return the sample count
     */
    public int getCalibrationSamples() {
        return calibrationSamples;
    }

    /**
     * Returns the reconstruction loop's settings.
     *
     * @return the settings
     */
    public CalibrationSettings getCalibrationSettings() {
        return calibration;
    }

    /**
     * Returns the grid of every layer, or null for {@link Grid#defaultFor} each layer's bits.
     *
     * @return the grid or null
     */
    public Grid getGrid() {
        return grid;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "NupesConfig{method=" + method + ", bits=" + bits + ", abits=" + activationBits + ", "
                + selector + ", grid=" + grid + ", samples="
                + calibrationSamples + ", " + calibration + '}';
    }

    /** Builds a {@link NupesConfig}. */
    public static final class Builder {

        private int bits = 4;
        private int groupSize;
        private int embeddingBits = LayerSettings.FLOAT_INPUTS;
        private int paddingMaskInput = -1;
        private LayerSelector selector;
        private Method method = Method.POWERQUANT_LAYER;
        private long seed;
        private Dataset calibrationDataset;
        private Iterable<NDList> calibrationBatches;
        private int calibrationSamples = DEFAULT_SAMPLES;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private int iterations = DEFAULT_ITERATIONS;
        private float weightLearningRate = DEFAULT_WEIGHT_LR;
        private float scaleLearningRate = DEFAULT_SCALE_LR;
        private float exponentLearningRate = DEFAULT_EXPONENT_LR;
        private float roundingLearningRate = DEFAULT_ROUNDING_LR;
        private LatentStart latentStart = LatentStart.FLOAT_WEIGHTS;
        private ReconstructionUnit reconstructionUnit = ReconstructionUnit.LAYER;
        private FinalRounding finalRounding;
        private GptqTarget gptqTarget;
        private Grid grid;
        private int activationBits = 32;
        private InputRange.Estimator inputEstimator = InputRange.Estimator.PERCENTILE;

        Builder() {}

        /**
         * Quantizes every wrapped layer's inputs at this many bits (2..8) on a power grid sharing
         * the layer's exponent; 32 (the default) keeps float inputs. Needs calibration data.
         *
         * @param bits the input bit width
         * @return this builder
         */
        public Builder optActivationBits(int bits) {
            this.activationBits = bits == 32 ? 32 : QuantizerSpec.checkBits(bits);
            return this;
        }

        /**
         * Sets weight and activation bits from a preset: {@code W8A8}, {@code W4A8} or {@code W4A4}.
         *
         * @param preset the preset name
         * @return this builder
         */
        public Builder optPreset(String preset) {
            switch (preset.toUpperCase(java.util.Locale.ROOT)) {
                case "W8A8":
                    return setBits(8).optActivationBits(8);
                case "W4A8":
                    return setBits(4).optActivationBits(8);
                case "W4A4":
                    return setBits(4).optActivationBits(4);
                default:
                    throw new IllegalArgumentException("unknown preset '" + preset + "'; expected W8A8, W4A8 or W4A4");
            }
        }

        /**
         * Sets how input ranges are estimated (default the 99.99th percentile).
         *
         * @param estimator the estimator
         * @return this builder
         */
        public Builder optInputEstimator(InputRange.Estimator estimator) {
            this.inputEstimator = Objects.requireNonNull(estimator, "estimator");
            return this;
        }

        /**
         * Calibrates on the inputs of a dataset's batches (labels ignored).
         *
         * @param dataset a prepared dataset
         * @return this builder
         */
        public Builder optCalibrationData(Dataset dataset) {
            this.calibrationDataset = Objects.requireNonNull(dataset, "dataset");
            this.calibrationBatches = null;
            return this;
        }

        /**
         * Calibrates on input batches (first axis = batch).
         *
         * @param batches the batches
         * @return this builder
         */
        public Builder optCalibrationData(Iterable<NDList> batches) {
            this.calibrationBatches = Objects.requireNonNull(batches, "batches");
            this.calibrationDataset = null;
            return this;
        }

        /**
         * Sets how many calibration samples to use (default 1024).
         *
         * @param samples the count
         * @return this builder
         */
        public Builder optCalibrationSamples(int samples) {
            this.calibrationSamples = samples;
            return this;
        }

        /**
         * Sets the calibration batch size (default 32).
         *
         * @param batchSize samples per Adam step
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * Sets the Adam steps per layer (default 500).
         *
         * @param iterations the count
         * @return this builder
         */
        public Builder optIterations(int iterations) {
            this.iterations = iterations;
            return this;
        }

        /**
         * Sets the learning rates of the latent weights, the log scale and the exponent.
         *
         * @param weights latent weights (default 1e-3)
         * @param scale log channel scale (default 1e-3)
         * @param exponent exponent (default 1e-2)
         * @return this builder
         */
        public Builder optLearningRates(float weights, float scale, float exponent) {
            this.weightLearningRate = weights;
            this.scaleLearningRate = scale;
            this.exponentLearningRate = exponent;
            return this;
        }

        /**
         * Sets the learning rate of the learned-rounding baseline (default 1e-2).
         *
         * @param rate the learning rate
         * @return this builder
         */
        public Builder optRoundingLearningRate(float rate) {
            this.roundingLearningRate = rate;
            return this;
        }

        /**
         * Sets where NUPES's latent weights start (default {@link LatentStart#FLOAT_WEIGHTS});
         * {@link LatentStart#GPTQ_POWER} runs GPTQ on each layer's inputs first.
         *
         * @param start the starting point
         * @return this builder
         */
        public Builder optLatentStart(LatentStart start) {
            this.latentStart = java.util.Objects.requireNonNull(start, "start");
            return this;
        }

        /**
         * Sets what one reconstruction learns (default {@link ReconstructionUnit#LAYER});
         * {@link ReconstructionUnit#STAGE} learns every layer of a stage of the model's forward chain
         * (an encoder layer, a residual block) together, the loss on the stage's output. Learned
         * methods only; weights-only layers only.
         *
         * @param unit the unit
         * @return this builder
         */
        public Builder optReconstructionUnit(ReconstructionUnit unit) {
            this.reconstructionUnit = java.util.Objects.requireNonNull(unit, "unit");
            return this;
        }

        /**
         * Sets which codes a NUPES layer ends with once its grid is learned (default {@link
         * #DEFAULT_FINAL_ROUNDING} by layer, {@link FinalRounding#LEARNED} by stage): {@link
         * FinalRounding#BEST_OF_LEARNED_AND_GPTQ} also runs GPTQ on the learned grid and keeps the
         * codes with the lower reconstruction loss. Layer by layer only.
         *
         * @param rounding the final rounding
         * @return this builder
         */
        public Builder optFinalRounding(FinalRounding rounding) {
            this.finalRounding = java.util.Objects.requireNonNull(rounding, "rounding");
            return this;
        }

        /**
         * Sets what every GPTQ rounding of the calibration fits (default {@link
         * GptqTarget#defaultFor} the method: the float weights for {@code gptq} and {@code
         * gptq-power}, the float model's outputs for NUPES's GPTQ start and final rounding).
         *
         * @param target the target
         * @return this builder
         */
        public Builder optGptqTarget(GptqTarget target) {
            this.gptqTarget = java.util.Objects.requireNonNull(target, "target");
            return this;
        }

        /**
         * Forces a grid for every layer (default: {@link Grid#defaultFor} each layer's bits).
         *
         * @param grid the grid
         * @return this builder
         */
        public Builder optGrid(Grid grid) {
            this.grid = grid;
            return this;
        }

        /**
         * Sets the weight bit width of every layer (2..8, default 4); a selector's per-layer rules
         * ({@link LayerSelector.Builder#optBits}, the first/last rule) override it.
         *
         * @param bits the bit width
         * @return this builder
         */
        public Builder setBits(int bits) {
            this.bits = QuantizerSpec.checkBits(bits);
            return this;
        }

        /**
         * Gives every layer one scale per group of {@code groupSize} consecutive weights of a
         * channel (the input dimension of a Linear, in-channels × kernel positions of a
         * convolution, the width of a table row) instead of one per channel; 0 (the default)
         * keeps one per channel. Typical sizes: 32, 64, 128. A group holds the channel's last
         * weights when the channel does not divide evenly.
         *
         * @param size weights per group, or 0
         * @return this builder
         */
        public Builder optGroupSize(int size) {
            if (size < 0) {
                throw new IllegalArgumentException("group size must be 0 (per channel) or positive, got " + size);
            }
            this.groupSize = size;
            return this;
        }

        /**
         * Declares which calibration input is a padding mask ({@code (N, T)}: 1 for a token, 0 for
         * padding), as a transformer encoder's attention mask is: padded positions then enter no
         * reconstruction loss and no input range. For a BERT-style encoder fed {@code (input_ids,
         * attention_mask, token_type_ids)} that is input 1.
         *
         * @param inputIndex the mask's position among the model inputs
         * @return this builder
         */
        public Builder optPaddingMask(int inputIndex) {
            if (inputIndex < 0) {
                throw new IllegalArgumentException("padding mask input must be ≥ 0, got " + inputIndex);
            }
            this.paddingMaskInput = inputIndex;
            return this;
        }

        /**
         * Also quantizes weight tables (token and position embeddings: leaf blocks holding a
         * {@code weight} of at least two axes that are not Linear or convolution layers), one scale
         * per row or per group of a row, data-free whatever the method (our design: a table is
         * read, not computed). 32 (the default) leaves them float.
         *
         * @param bits table bits, 2..8, or 32
         * @return this builder
         */
        public Builder optEmbeddingBits(int bits) {
            this.embeddingBits = bits == LayerSettings.FLOAT_INPUTS ? bits : QuantizerSpec.checkBits(bits);
            return this;
        }

        /**
         * Chooses layers, per-layer bit overrides and granularities with a selector; the bits of
         * every other layer, the grid and the input bits stay this config's.
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
         * Sets the seed of every random choice: the calibration batch order of every layer (the
         * library draws from no other generator, the engine's included).
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
