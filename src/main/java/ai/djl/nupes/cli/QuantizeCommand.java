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
 * {@code quantize} (the default command): quantizes a bundled test model (the CNN unless {@code
 * --model} says otherwise) data-free at W8/W4/W3/W2 with uniform, global and per-layer power
 * quantization, evaluated on the bundled test subset, and prints the table rows.
 */
final class QuantizeCommand {

    private QuantizeCommand() {}

    static void run(NupesCli.Options options) throws Exception {
        TestModel model = TestModel.of(options.get("model", "cnn"));
        List<String> bits = options.getList("bits", "8,4,3,2");
        List<String> methods = options.getList("methods", BenchCommand.DEFAULT_METHODS);
        Path data = options.getPath("data", FashionMnistIdx.BUNDLED_DIRECTORY.toString());
        List<AccuracyRow> rows = new ArrayList<>();
        try (ModelBench bench = new ModelBench(model, data)) {
            rows.add(bench.floatRow());
            for (String b : bits) {
                for (String m : methods) {
                    rows.add(bench.run(Method.of(m), Integer.parseInt(b)));
                }
            }
        }
        System.out.println(BenchCommand.describeData(data));
        System.out.println(AccuracyBook.toMarkdown(rows));
    }
}
