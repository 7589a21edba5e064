package ai.djl.nupes.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Method;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.calibrate.FinalRounding;
import ai.djl.nupes.calibrate.GptqTarget;
import ai.djl.nupes.calibrate.LatentStart;
import ai.djl.nupes.calibrate.ReconstructionUnit;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.training.dataset.Dataset;
import ai.djl.training.dataset.RandomAccessDataset;

import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * The options every quantizing command shares: input bits, iterations, samples, seed, grid and the
 * calibration data.
 */
final class SharedOptions {

    @Option(
            names = "--abits",
            paramLabel = "N",
            converter = Converters.ActivationBits.class,
            description = "quantize every layer's inputs at N bits (2..8); 32 keeps float inputs (default: ${DEFAULT-VALUE})")
    int abits = 32;

    @Option(
            names = "--iterations",
            paramLabel = "N",
            converter = Converters.Positive.class,
            description = "gradient steps per layer of data-driven methods (default: ${DEFAULT-VALUE})")
    int iterations = NupesConfig.DEFAULT_ITERATIONS;

    @Option(
            names = "--samples",
            paramLabel = "N",
            converter = Converters.Positive.class,
            description = "calibration samples (default: ${DEFAULT-VALUE})")
    int samples = NupesConfig.DEFAULT_SAMPLES;

    @Option(names = "--seed", paramLabel = "N", description = "the seed of the calibration batch order (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(
            names = "--learning-rates",
            paramLabel = "W,S,A",
            split = ",",
            description = "Adam learning rates of NUPES's latent weights, log scales and exponent (default: "
                    + NupesConfig.DEFAULT_WEIGHT_LR + "," + NupesConfig.DEFAULT_SCALE_LR + ","
                    + NupesConfig.DEFAULT_EXPONENT_LR + ")")
    float[] learningRates;

    @Option(
            names = "--latent-start",
            paramLabel = "START",
            converter = StartName.class,
            description = "where NUPES's latent weights start: float-weights (the default) or gptq-power")
    LatentStart latentStart = LatentStart.FLOAT_WEIGHTS;

    @Option(
            names = "--reconstruction",
            paramLabel = "UNIT",
            converter = UnitName.class,
            description = "what one reconstruction of the learned methods learns: layer (the default) or stage"
                    + " (a residual block or encoder layer, its layers together on the block's output); gptq and the"
                    + " data-free methods always work layer by layer")
    ReconstructionUnit reconstruction = ReconstructionUnit.LAYER;

    @Option(
            names = "--final-rounding",
            paramLabel = "ROUNDING",
            converter = RoundingName.class,
            description = "which codes a NUPES layer ends with: learned (its latent weights rounded) or"
                    + " best-of-learned-and-gptq (also GPTQ on the learned grid, the lower-loss codes kept; layer by"
                    + " layer) (default: " + "the library's, NupesConfig.DEFAULT_FINAL_ROUNDING)")
    FinalRounding finalRounding;

    @Option(
            names = "--gptq-target",
            paramLabel = "TARGET",
            converter = TargetName.class,
            description = "what every GPTQ rounding fits: weights (the float weights on the quantized inputs, GPTQ as"
                    + " published) or float-outputs (the float model's outputs) (default: weights for gptq and"
                    + " gptq-power, float-outputs for NUPES's GPTQ start and final rounding)")
    GptqTarget gptqTarget;

    @Option(
            names = "--grid",
            paramLabel = "GRID",
            converter = Converters.GridName.class,
            description = "symmetric or half-integer (default: half-integer at 2-3 bits, symmetric from 4)")
    Grid grid;

    @Option(
            names = "--calibration",
            paramLabel = "SOURCE",
            description = "calibration images: a folder of images (one subfolder per class, or none), a"
                    + " Fashion-MNIST IDX directory or *-images-idx3-ubyte.gz file, or 'bundled' (the bundled"
                    + " 2048-image training subset, the default); for a sentence encoder a text file, one sentence a"
                    + " line (default: the bundled KJV calibration verses)")
    String calibration;

    private Dataset calibrationData;

    /**
     * The calibration images of the bundled-model commands: {@code --calibration} (its training split
     * when it is an IDX directory), else the bundled subset; says which, once.
     *
     * @param out where to say it
     * @return the dataset
     */
    Dataset calibration(PrintWriter out) {
        if (calibrationData == null) {
            try {
                if (ImageData.isBundled(calibration)) {
                    FashionMnistIdx bundled = FashionMnistIdx.bundledCalibration();
                    calibrationData = bundled;
                    out.println("calibration data: " + bundled.size() + " training images from the bundled"
                            + " Fashion-MNIST subset " + FashionMnistIdx.BUNDLED_DIRECTORY);
                } else {
                    // lives as long as the process, like the bundled subset
                    ImageData data = ImageData.load(NDManager.newBaseManager(), calibration, null,
                            FashionMnistIdx.Split.TRAIN, "--calibration");
                    calibrationData = data.dataset(FashionMnistIdx.CALIBRATION_BATCH);
                    out.println("calibration data: " + data.description());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            out.flush();
        }
        return calibrationData;
    }

    /**
     * A config builder from the shared options, calibrated on {@link #calibration} when the method
     * or quantized inputs need data.
     *
     * @param method the method
     * @param bits the weight bits
     * @param out where the calibration source is named
     * @return the builder
     */
    NupesConfig.Builder config(Method method, int bits, PrintWriter out) {
        NupesConfig.Builder b = base(method, bits);
        if (method.needsCalibrationData() || abits < 32) {
            Dataset data = calibration(out);
            b.optCalibrationData(data);
            if (data instanceof RandomAccessDataset r) {
                b.optCalibrationSamples(samplesOf(r.size()));
            }
        }
        return b;
    }

    /**
     * The calibration samples to ask for from a dataset of {@code size} samples: {@code --samples},
     * at most the dataset's size (asking for more gets the whole dataset and a warning).
     *
     * @param size the dataset's size
     * @return the sample count
     */
    int samplesOf(long size) {
        return (int) Math.min(samples, size);
    }

    /** A picocli converter from a parser whose IllegalArgumentException message is the usage error. */
    abstract static class Parsed<T> implements picocli.CommandLine.ITypeConverter<T> {
        private final java.util.function.Function<String, T> parse;

        Parsed(java.util.function.Function<String, T> parse) {
            this.parse = parse;
        }

        @Override
        public T convert(String value) {
            try {
                return parse.apply(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code --reconstruction}: layer or stage. */
    static final class UnitName extends Parsed<ReconstructionUnit> {
        UnitName() {
            super(value -> {
                try {
                    return ReconstructionUnit.of(value);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("'" + value + "' is neither layer nor stage", e);
                }
            });
        }
    }

    /** {@code --final-rounding}: learned or best-of-learned-and-gptq. */
    static final class RoundingName extends Parsed<FinalRounding> {
        RoundingName() {
            super(FinalRounding::of);
        }
    }

    /** {@code --gptq-target}: weights or float-outputs. */
    static final class TargetName extends Parsed<GptqTarget> {
        TargetName() {
            super(GptqTarget::of);
        }
    }

    /** {@code --latent-start}: float-weights or gptq-power. */
    static final class StartName extends Parsed<LatentStart> {
        StartName() {
            super(LatentStart::of);
        }
    }

    /**
     * A config builder from the shared options without calibration data.
     *
     * @param method the method
     * @param bits the weight bits
     * @return the builder
     */
    NupesConfig.Builder base(Method method, int bits) {
        NupesConfig.Builder b =
                NupesConfig.builder()
                        .optMethod(method)
                        .setBits(bits)
                        .optIterations(iterations)
                        .optCalibrationSamples(samples)
                        .optSeed(seed)
                        .optActivationBits(abits);
        if (grid != null) {
            b.optGrid(grid);
        }
        b.optLatentStart(latentStart);
        if (finalRounding != null) {
            b.optFinalRounding(finalRounding);
        }
        if (gptqTarget != null) {
            b.optGptqTarget(gptqTarget);
        }
        if (reconstruction.appliesTo(method)) {
            b.optReconstructionUnit(reconstruction);
        }
        if (learningRates != null) {
            if (learningRates.length != 3) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--learning-rates takes three values (weights, scales, exponent), got " + learningRates.length);
            }
            b.optLearningRates(learningRates[0], learningRates[1], learningRates[2]);
        }
        return b;
    }
}
