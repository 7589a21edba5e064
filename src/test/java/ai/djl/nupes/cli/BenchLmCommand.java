package ai.djl.nupes.cli;

import ai.djl.nupes.Method;
import ai.djl.nupes.bench.AccuracyBook;
import ai.djl.nupes.bench.AccuracyRow;
import ai.djl.nupes.bench.LanguageModelBench;
import ai.djl.nupes.calibrate.FinalRounding;
import ai.djl.nupes.calibrate.GptqTarget;
import ai.djl.nupes.calibrate.ReconstructionUnit;
import ai.djl.nupes.models.TestModel;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code bench-lm}: the {@code lm}'s perplexity table, method × bits × group size, on the shipped
 * evaluation slice; each row is merged into the JSON file as soon as it is measured.
 */
@Command(
        name = "bench-lm",
        mixinStandardHelpOptions = true,
        description = "Perplexity, KL and top-1 agreement of the character LM per method x bits x group size;"
                + " merges each row into target/bench/accuracy.json as it is measured.")
final class BenchLmCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--model-dir", paramLabel = "DIR", description = "the lm directory (default: test-models/lm)")
    Path modelDir = TestModel.LM.directory();

    @Option(names = {"--methods", "--method"}, split = ",", paramLabel = "METHOD", converter = Converters.MethodId.class,
            description = "methods (default: uniform,powerquant-layer,gptq,learned-rounding,nupes)")
    List<Method> methods = List.of(Method.UNIFORM, Method.POWERQUANT_LAYER, Method.GPTQ, Method.LEARNED_ROUNDING,
            Method.NUPES);

    @Option(names = "--bits", split = ",", paramLabel = "N", converter = Converters.Bits.class,
            description = "weight bits, 2..8 (default: 4,3,2)")
    List<Integer> bits = List.of(4, 3, 2);

    @Option(names = "--group-sizes", split = ",", paramLabel = "G",
            description = "inputs per scale group, 0 = per channel (default: 0,128)")
    List<Integer> groupSizes = List.of(0, 128);

    @Option(names = "--embedding-bits", split = ",", paramLabel = "N",
            description = "bits of the token table, 2..8, or 32 to keep it float (default: 32)")
    List<Integer> embeddingBits = List.of(32);

    @Option(names = "--calibration-windows", paramLabel = "N",
            description = "calibration sequences of 128 characters, at most 128 (default: ${DEFAULT-VALUE})")
    int windows = 128;

    @Option(names = "--batch-size", paramLabel = "N", description = "sequences per Adam step (default: ${DEFAULT-VALUE})")
    int batchSize = 8;

    @Option(names = "--iterations", paramLabel = "N", description = "Adam steps per layer (default: ${DEFAULT-VALUE})")
    int iterations = 500;

    @Option(names = "--seed", paramLabel = "S", description = "library seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--reconstruction", paramLabel = "UNIT", converter = SharedOptions.UnitName.class,
            description = "what one reconstruction of the learned methods learns: layer (the default) or stage"
                    + " (one decoder layer, its layers together on the layer's output)")
    ReconstructionUnit reconstruction = ReconstructionUnit.LAYER;

    @Option(names = "--final-rounding", paramLabel = "ROUNDING", converter = SharedOptions.RoundingName.class,
            description = "which codes a NUPES layer ends with: learned or best-of-learned-and-gptq (default: the"
                    + " library's)")
    FinalRounding finalRounding;

    @Option(names = "--gptq-target", paramLabel = "TARGET", converter = SharedOptions.TargetName.class,
            description = "what every GPTQ rounding fits: weights or float-outputs (default: the library's for the"
                    + " method)")
    GptqTarget gptqTarget;

    @Option(names = "--out", paramLabel = "FILE", description = "the JSON file the rows merge into (default: ${DEFAULT-VALUE})")
    Path out = AccuracyBook.DEFAULT_FILE;

    @Option(names = "--frozen-dir", paramLabel = "DIR",
            description = "where each row's frozen export is written and replaced (default: ${DEFAULT-VALUE})")
    Path frozenDir = Paths.get("target", "bench", "frozen-lm");

    @Override
    public Integer call() throws Exception {
        for (int g : groupSizes) {
            if (g < 0) {
                throw new ParameterException(spec.commandLine(), "--group-sizes: " + g + " is negative");
            }
        }
        for (int e : embeddingBits) {
            if (e != 32 && (e < 2 || e > 8)) {
                throw new ParameterException(spec.commandLine(), "--embedding-bits: " + e + " is neither 2..8 nor 32");
            }
        }
        if (windows < 1 || batchSize < 1 || iterations < 1) {
            throw new ParameterException(spec.commandLine(),
                    "--calibration-windows, --batch-size and --iterations must be positive");
        }
        PrintWriter w = spec.commandLine().getOut();
        List<AccuracyRow> rows = new ArrayList<>();
        LanguageModelBench.Calibration calibration =
                new LanguageModelBench.Calibration(windows, batchSize, iterations, seed, reconstruction, finalRounding,
                        gptqTarget);
        try (LanguageModelBench bench = new LanguageModelBench(modelDir)) {
            AccuracyRow floatRow = bench.floatRow();
            rows.add(floatRow);
            AccuracyBook.merge(out, List.of(floatRow));
            for (Method m : methods) {
                for (int b : bits) {
                    for (int g : groupSizes) {
                        for (int e : embeddingBits) {
                            AccuracyRow row = bench.run(m, b, g, e, calibration, frozenDir);
                            rows.add(row);
                            AccuracyBook.merge(out, List.of(row));
                            w.println(AccuracyBook.toLanguageMarkdown(List.of(row)).lines().skip(2).findFirst().orElse(""));
                            w.flush();
                        }
                    }
                }
            }
        }
        w.println(AccuracyBook.toLanguageMarkdown(rows));
        w.println("rows merged into " + out.toAbsolutePath());
        return 0;
    }

    /** {@code lm-outliers}: per-layer weight statistics joined with a bench-lm run's layer reports. */
    @Command(
            name = "lm-outliers",
            mixinStandardHelpOptions = true,
            description = "Kurtosis and max/std of the lm's Linear weights, with the exponents and weight errors"
                    + " of a bench-lm run's per-layer reports.")
    static final class Outliers implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--model-dir", paramLabel = "DIR", description = "the lm directory (default: test-models/lm)")
        Path modelDir = TestModel.LM.directory();

        @Option(names = "--reports", paramLabel = "DIR",
                description = "a bench-lm run's reports directory (default: ${DEFAULT-VALUE})")
        Path reports = Paths.get("target", "bench", "frozen-lm-reports");

        @Option(names = "--bits", paramLabel = "N", converter = Converters.Bits.class,
                description = "the bit width whose reports to show (default: ${DEFAULT-VALUE})")
        int bits = 3;

        @Override
        public Integer call() throws Exception {
            try (var model = ai.djl.nupes.models.TestModels.load(modelDir)) {
                spec.commandLine().getOut().println(ai.djl.nupes.bench.LanguageModelOutliers.table(
                        ai.djl.nupes.bench.LanguageModelOutliers.stats(model), reports, bits));
            }
            return 0;
        }
    }
}
