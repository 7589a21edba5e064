package ai.djl.nupes.cli;

import ai.djl.nupes.Method;
import ai.djl.nupes.bench.AccuracyBook;
import ai.djl.nupes.bench.AccuracyRow;
import ai.djl.nupes.bench.ModelBench;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.models.TestModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bench}: every test model × method × weight bits, evaluated on the full Fashion-MNIST test
 * set when the Debian package is installed (the bundled 2000-image subset otherwise, and the table
 * says which). Prints a markdown table and merges the rows into {@code
 * target/bench/accuracy.json}.
 */
final class BenchCommand {

    static final String DEFAULT_METHODS = "uniform,powerquant-global,powerquant-layer";

    private BenchCommand() {}

    static void run(NupesCli.Options options) throws Exception {
        List<String> models = options.getList("models", "mlp,cnn,resnet,transformer");
        List<String> methods = options.getList("methods", DEFAULT_METHODS);
        List<String> bits = options.getList("bits", "8,4,3,2");
        Path data = options.getPath("data", FashionMnistIdx.resolveDirectory().toString());
        Path out = options.getPath("out", AccuracyBook.DEFAULT_FILE.toString());
        List<AccuracyRow> rows = new ArrayList<>();
        for (String id : models) {
            try (ModelBench bench = new ModelBench(TestModel.of(id), data)) {
                rows.add(bench.floatRow());
                for (String b : bits) {
                    for (String m : methods) {
                        rows.add(bench.run(options.config(Method.of(m), Integer.parseInt(b)).build()));
                    }
                }
            }
        }
        System.out.println(describeData(data));
        System.out.println(AccuracyBook.toMarkdown(rows));
        AccuracyBook.merge(out, rows);
        System.out.println("rows merged into " + out.toAbsolutePath());
    }

    static String describeData(Path data) {
        return FashionMnistIdx.isBundled(data)
                ? "evaluated on the bundled 2000-image Fashion-MNIST test subset (" + data + ")"
                : "evaluated on the full Fashion-MNIST test set (" + data + ")";
    }
}
