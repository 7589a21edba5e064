package ai.djl.nupes.cli;

import ai.djl.nupes.Method;
import ai.djl.nupes.bench.AccuracyBook;
import ai.djl.nupes.bench.AccuracyRow;
import ai.djl.nupes.bench.ModelBench;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.models.TestModel;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code bench}: every test model × method × weight bits, evaluated on the full Fashion-MNIST test
 * set when the Debian package is installed (the bundled 2000-image subset otherwise, and the table
 * says which). Prints a markdown table and merges the rows into {@code
 * target/bench/accuracy.json}.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Accuracy table of every test model x method x bits; merges the rows into target/bench/accuracy.json.")
final class BenchCommand implements Callable<Integer> {

    static final String DEFAULT_METHODS = "uniform,powerquant-global,powerquant-layer";

    @Spec CommandSpec spec;
    @Mixin SharedOptions shared;

    @Option(names = "--models", split = ",", paramLabel = "ID", converter = Converters.TestModelId.class,
            description = "test models (default: mlp,cnn,resnet,transformer)")
    List<TestModel> models = NupesCli.allModels();

    @Option(names = {"--methods", "--method"}, split = ",", paramLabel = "METHOD", converter = Converters.MethodId.class,
            description = "methods (default: " + DEFAULT_METHODS + ")")
    List<Method> methods = List.of(Method.UNIFORM, Method.POWERQUANT_GLOBAL, Method.POWERQUANT_LAYER);

    @Option(names = "--bits", split = ",", paramLabel = "N", converter = Converters.Bits.class,
            description = "weight bits, 2..8 (default: 8,4,3,2)")
    List<Integer> bits = List.of(8, 4, 3, 2);

    @Option(names = "--data", paramLabel = "DIR",
            description = "Fashion-MNIST IDX directory to evaluate on, its test split (default: the Debian package's,"
                    + " else the bundled subset)")
    Path data;

    @Option(names = "--seeds", paramLabel = "N", converter = Converters.Positive.class,
            description = "seeds of each data-driven method (--seed, --seed + 1, ...), reported as mean ± standard"
                    + " deviation; gptq and the data-free methods draw nothing at random and run once (default:"
                    + " ${DEFAULT-VALUE})")
    int seeds = 3;

    @Option(names = "--out", paramLabel = "FILE", description = "the JSON file the rows merge into (default: ${DEFAULT-VALUE})")
    Path out = AccuracyBook.DEFAULT_FILE;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        Path dataDir = data != null ? data : FashionMnistIdx.resolveDirectory();
        List<AccuracyRow> rows = new ArrayList<>();
        for (TestModel model : models) {
            try (ModelBench bench = new ModelBench(model, dataDir)) {
                rows.add(bench.floatRow());
                for (int b : bits) {
                    for (Method m : methods) {
                        rows.add(overSeeds(bench, m, b, w));
                    }
                }
            }
        }
        w.println(describeData(dataDir));
        w.println(AccuracyBook.toMarkdown(rows));
        AccuracyBook.merge(out, rows);
        w.println("rows merged into " + out.toAbsolutePath());
        return 0;
    }

    /** One method and width over {@link #seeds} seeds, or once when the method draws nothing at random. */
    private AccuracyRow overSeeds(ModelBench bench, Method method, int bits, PrintWriter w) {
        int runs = method.usesSeed() ? seeds : 1;
        List<AccuracyRow> perSeed = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            perSeed.add(bench.run(shared.config(method, bits, w).optSeed(shared.seed + i).build()));
        }
        return AccuracyRow.overSeeds(perSeed);
    }

    static String describeData(Path data) {
        return FashionMnistIdx.isBundled(data)
                ? "evaluated on the bundled 2000-image Fashion-MNIST test subset (" + data + ")"
                : "evaluated on the full Fashion-MNIST test set (" + data + ")";
    }
}
