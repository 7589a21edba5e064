package ai.djl.nupes.cli;

import ai.djl.nupes.Method;
import ai.djl.nupes.bench.ExportBench;
import ai.djl.nupes.bench.IntegerBench;
import ai.djl.nupes.bench.embedding.BenchEmbeddingCommand;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.data.SubsetBundler;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModelTrainer;
import ai.djl.nupes.zoo.NupesModelZoo;
import ai.djl.nupes.zoo.ZooWriter;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * The command line: {@code quantize} (the default), {@code bench}, {@code bench-export}, {@code
 * bench-integer}, {@code bench-embedding}, {@code zoo}, {@code train} and {@code bundle-data}, parsed
 * by picocli. Unknown options and bad values are refused with a message and the command's usage
 * (exit code 2); bad input files with a message naming the file (exit code 1). Run with {@code mvn
 * -q test-compile exec:java -Dexec.args="<command> ..."} or {@code java -jar
 * target/cli/djl-nupes-0.1.0-SNAPSHOT-cli.jar <command> ...} after {@code mvn -Pcli package}.
 */
@Command(
        name = "djl-nupes",
        mixinStandardHelpOptions = true,
        version = "djl-nupes 0.1.0-SNAPSHOT",
        description = "NUPES post-training quantization for DJL models. Without a command: quantize.",
        subcommands = {
            QuantizeCommand.class,
            BenchCommand.class,
            BenchLmCommand.class,
            BenchLmCommand.Outliers.class,
            NupesCli.BenchExport.class,
            NupesCli.BenchInteger.class,
            NupesCli.BenchEmbedding.class,
            NupesCli.Zoo.class,
            NupesCli.Train.class,
            NupesCli.BundleData.class,
            CommandLine.HelpCommand.class
        })
public final class NupesCli implements Runnable {

    /** Exit code of a bad input file or directory (picocli's usage errors exit with 2). */
    static final int BAD_INPUT = 1;

    private static final Set<String> TOP_LEVEL = Set.of("-h", "--help", "-V", "--version");

    @Spec CommandSpec spec;

    /** Prints the usage: the top-level command only names the subcommands. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Entry point; exits with the command's code.
     *
     * @param args the command and its options
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs a command line in this process, printing to standard out and err.
     *
     * @param args the command and its options
     * @return the exit code
     */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /**
     * Runs a command line in this process (the tests' entry point: no {@code System.exit}).
     *
     * @param out where the results go
     * @param err where errors and usage on errors go
     * @param args the command and its options; {@code quantize} when they start with an option or
     *     are empty
     * @return the exit code: 0, 1 for bad input or a failure, 2 for a bad command line
     */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        configureOffline();
        return commandLine(out, err).execute(withDefaultCommand(args));
    }

    /**
     * The picocli command line with this project's output streams and error handling.
     *
     * @param out where the results go
     * @param err where errors go
     * @return the command line
     */
    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new NupesCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.getSubcommands().get("bench-embedding").getCommandSpec().usageMessage()
                .footer("%nOptions of the bench (parsed by BenchEmbeddingCommand):", BenchEmbeddingCommand.USAGE);
        cl.setParameterExceptionHandler(
                (e, args) -> {
                    CommandLine c = e.getCommandLine();
                    PrintWriter w = c.getErr();
                    w.println("error: " + e.getMessage());
                    CommandLine.UnmatchedArgumentException.printSuggestions(e, w);
                    w.println();
                    c.usage(w);
                    w.flush();
                    return c.getCommandSpec().exitCodeOnInvalidInput();
                });
        cl.setExecutionExceptionHandler(
                (e, commandLine, parseResult) -> {
                    Throwable cause = e instanceof UncheckedIOException ? e.getCause() : e;
                    if (cause instanceof BadInput || cause instanceof IllegalArgumentException
                            || cause instanceof java.io.IOException) {
                        commandLine.getErr().println("error: " + cause.getMessage());
                    } else {
                        commandLine.getErr().println("error: " + cause);
                        cause.printStackTrace(commandLine.getErr());
                    }
                    commandLine.getErr().flush();
                    return BAD_INPUT;
                });
        return cl;
    }

    static String[] withDefaultCommand(String[] args) {
        if (args.length == 0 || (args[0].startsWith("-") && !TOP_LEVEL.contains(args[0]))) {
            List<String> list = new ArrayList<>();
            list.add("quantize");
            list.addAll(Arrays.asList(args));
            return list.toArray(new String[0]);
        }
        return args;
    }

    /**
     * Keeps the engine offline and untracked unless the caller said otherwise: no native download,
     * no probe of a cloud metadata address; PyTorch is the default engine (ONNX Runtime is on the
     * classpath as the embedding bench's reference).
     */
    static void configureOffline() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        if (System.getProperty("ai.djl.default_engine") == null && System.getenv("DJL_DEFAULT_ENGINE") == null) {
            System.setProperty("ai.djl.default_engine", "PyTorch");
        }
    }

    /** A bad input file, directory or value found while running: the message names it. */
    static final class BadInput extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadInput(String message) {
            super(message);
        }
    }

    static List<TestModel> allModels() {
        return TestModel.classifiers();
    }

    /** {@code bench-export}. */
    @Command(
            name = "bench-export",
            mixinStandardHelpOptions = true,
            description = "Frozen vs float size, load time and latency of every test model; writes target/bench/export.json.")
    static final class BenchExport implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--models", split = ",", paramLabel = "ID", converter = Converters.TestModelId.class,
                description = "test models (default: mlp,cnn,resnet,transformer)")
        List<TestModel> models = allModels();

        @Option(names = "--bits", split = ",", paramLabel = "N", converter = Converters.Bits.class,
                description = "weight bits (default: 8,4,3,2)")
        List<Integer> bits = List.of(8, 4, 3, 2);

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            List<ExportBench.Row> rows = ExportBench.run(models, bits.stream().mapToInt(Integer::intValue).toArray(),
                    Paths.get("target", "bench", "frozen"), ExportBench.DEFAULT_FILE);
            out.println(ExportBench.toMarkdown(rows));
            out.println("rows written to " + ExportBench.DEFAULT_FILE.toAbsolutePath());
            return 0;
        }
    }

    /** {@code bench-integer}. */
    @Command(
            name = "bench-integer",
            mixinStandardHelpOptions = true,
            description = "Integer reference kernels vs the float path: kernel throughput, then every test model"
                    + " exported at each preset and run on both paths.")
    static final class BenchInteger implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin SharedOptions shared;

        @Option(names = "--models", split = ",", paramLabel = "ID", converter = Converters.TestModelId.class,
                description = "test models (default: mlp,cnn,resnet,transformer)")
        List<TestModel> models = allModels();

        @Option(names = "--presets", split = ",", paramLabel = "WxAy", converter = Converters.Preset.class,
                description = "W/A presets (default: W8A8,W4A8,W4A4)")
        List<String> presets = List.of("W8A8", "W4A8", "W4A4");

        @Option(names = "--method", paramLabel = "METHOD", converter = Converters.MethodId.class,
                description = "the method (default: ${DEFAULT-VALUE})")
        Method method = Method.POWERQUANT_LAYER;

        @Option(names = "--images", paramLabel = "N", converter = Converters.Positive.class,
                description = "bundled test images to classify (default: ${DEFAULT-VALUE})")
        int images = 256;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            out.println(IntegerBench.toMarkdown(IntegerBench.run()));
            out.flush();
            List<IntegerBench.ModelRow> rows =
                    IntegerBench.models(models, presets,
                            preset -> shared.base(method, 4).optPreset(preset)
                                    .optCalibrationData(shared.calibration(out)).build(),
                            images, Paths.get("target", "bench", "frozen-integer"));
            out.println(IntegerBench.modelsToMarkdown(rows));
            return 0;
        }
    }

    /**
     * {@code bench-embedding}: its options are parsed by {@link BenchEmbeddingCommand}, which refuses
     * unknown ones; picocli adds {@code --help}.
     */
    @Command(
            name = "bench-embedding",
            mixinStandardHelpOptions = true,
            customSynopsis = "djl-nupes bench-embedding [-hV] [--OPTION VALUE]...",
            description = "all-MiniLM-L6-v2 quantized and compared with float, ONNX Runtime and the int8 artifact;"
                    + " merges target/bench/embedding.json.")
    static final class BenchEmbedding implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Unmatched List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            try {
                BenchEmbeddingCommand.parse(args);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage(), e);
            }
            BenchEmbeddingCommand.run(args);
            return 0;
        }
    }

    /** {@code zoo}. */
    @Command(name = "zoo", mixinStandardHelpOptions = true,
            description = "Rewrites zoo-configs/ (float + frozen NUPES W4/W3 of every test model).")
    static final class Zoo implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            ZooWriter.write(NupesModelZoo.directory(), allModels(), new int[] {4, 3});
            spec.commandLine().getOut().println("wrote " + NupesModelZoo.directory());
            return 0;
        }
    }

    /** {@code train}. */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Retrains a test model into test-models/: a classifier on the full Fashion-MNIST,"
                    + " or lm on the KJV text (Debian's bible-kjv).")
    static final class Train implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Parameters(index = "0", paramLabel = "MODEL",
                description = "mlp, cnn, resnet, transformer, all (the four classifiers) or lm")
        String model;

        @Option(names = "--steps", paramLabel = "N", description = "lm only: Adam steps (default: the shipped model's)")
        Integer steps;

        @Option(names = "--measure-steps", paramLabel = "N",
                description = "lm only: run N steps, log their time and write nothing")
        int measureSteps;

        @Option(names = "--out", paramLabel = "DIR", description = "lm only: model directory (default: test-models/lm)")
        Path out;

        @Override
        public Integer call() throws Exception {
            if (model.equals(TestModel.LM.id())) {
                TestModelTrainer.LanguageSettings s = TestModelTrainer.languageDefaults();
                if (steps != null) {
                    if (steps < 1) {
                        throw new ParameterException(spec.commandLine(), "--steps must be positive");
                    }
                    s = new TestModelTrainer.LanguageSettings(steps, s.batchSize(), s.learningRate(),
                            Math.min(s.warmupSteps(), steps / 10), s.seed(), s.calibrationWindows(),
                            s.evaluationWindows());
                }
                TestModelTrainer.trainLanguageModel(s, out == null ? TestModel.LM.directory() : out, measureSteps);
                return 0;
            }
            List<TestModel> models;
            if (model.equals("all")) {
                models = allModels();
            } else {
                try {
                    models = List.of(new Converters.TestModelId().convert(model));
                } catch (CommandLine.TypeConversionException e) {
                    throw new ParameterException(spec.commandLine(), "Invalid value for MODEL: " + e.getMessage());
                }
            }
            Path data = FashionMnistIdx.resolveDirectory();
            for (TestModel m : models) {
                TestModelTrainer.train(m, TestModelTrainer.defaults(m), data, m.directory());
            }
            return 0;
        }
    }

    /** {@code bundle-data}. */
    @Command(name = "bundle-data", mixinStandardHelpOptions = true,
            description = "Rewrites the bundled Fashion-MNIST subsets from the full set.")
    static final class BundleData implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            SubsetBundler.bundle(FashionMnistIdx.SYSTEM_DIRECTORY, FashionMnistIdx.BUNDLED_DIRECTORY);
            spec.commandLine().getOut().println("wrote " + FashionMnistIdx.BUNDLED_DIRECTORY);
            return 0;
        }
    }
}
