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
 * --model} says otherwise) at W4 with uniform, per-layer PowerQuant and NUPES (calibrated on the
 * bundled 2048-image training subset), evaluates each on the bundled 2000-image test subset and
 * prints float and quantized accuracy side by side.
 */
final class QuantizeCommand {

    private QuantizeCommand() {}

    static void run(NupesCli.Options options) throws Exception {
        TestModel model = TestModel.of(options.get("model", "cnn"));
        List<String> bits = options.getList("bits", "4");
        List<String> methods = options.getList("methods", "uniform,powerquant-layer,nupes");
        Path data = options.getPath("data", FashionMnistIdx.BUNDLED_DIRECTORY.toString());
        List<AccuracyRow> rows = new ArrayList<>();
        try (ModelBench bench = new ModelBench(model, data)) {
            rows.add(bench.floatRow());
            for (String b : bits) {
                for (String m : methods) {
                    rows.add(bench.run(options.config(Method.of(m), Integer.parseInt(b)).build()));
                }
            }
        }
        System.out.println(BenchCommand.describeData(data));
        System.out.println(AccuracyBook.toMarkdown(rows));
    }
}
