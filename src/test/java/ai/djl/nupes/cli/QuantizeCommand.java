package ai.djl.nupes.cli;

import ai.djl.nupes.Method;
import ai.djl.nupes.bench.AccuracyBook;
import ai.djl.nupes.bench.AccuracyRow;
import ai.djl.nupes.bench.ModelBench;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.models.TestModel;

import ai.djl.ModelException;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.models.Evaluation;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code quantize} (the default command): quantizes a bundled test model (the CNN unless {@code
 * --model} says otherwise) at W4 with uniform, per-layer PowerQuant and NUPES (calibrated on the
 * bundled 2048-image training subset), evaluates each on the bundled 2000-image test subset and
 * prints float and quantized accuracy side by side; then exports the last one (NUPES) as a frozen
 * model to {@code target/frozen/<model>}, reloads it through {@code Criteria} and prints its size
 * and accuracy next to the in-memory result; with quantized inputs ({@code --abits}) also its
 * accuracy on the integer-only path.
 */
final class QuantizeCommand {

    private QuantizeCommand() {}

    static void run(NupesCli.Options options) throws Exception {
        TestModel model = TestModel.of(options.get("model", "cnn"));
        List<String> bits = options.getList("bits", "4");
        List<String> methods = options.getList("methods", "uniform,powerquant-layer,nupes");
        Path data = options.getPath("data", FashionMnistIdx.BUNDLED_DIRECTORY.toString());
        Path exportDir = options.getPath("export", "target/frozen/" + model.id());
        List<AccuracyRow> rows = new ArrayList<>();
        String[] exported = new String[1];
        try (ModelBench bench = new ModelBench(model, data)) {
            rows.add(bench.floatRow());
            for (String b : bits) {
                for (String m : methods) {
                    boolean last = m.equals(methods.get(methods.size() - 1)) && b.equals(bits.get(bits.size() - 1));
                    rows.add(bench.run(
                            options.config(Method.of(m), Integer.parseInt(b)).build(),
                            last ? (q, row) -> exported[0] = exportAndReload(q, row, bench, exportDir) : null));
                }
            }
        }
        System.out.println(BenchCommand.describeData(data));
        System.out.println(AccuracyBook.toMarkdown(rows));
        if (exported[0] != null) {
            System.out.println(exported[0]);
        }
    }

    /** Exports the quantized model, reloads it through Criteria and compares it with the in-memory one. */
    private static String exportAndReload(QuantizedModel q, AccuracyRow row, ModelBench bench, Path dir) {
        try {
            Manifest manifest =
                    FrozenExporter.export(
                            q,
                            dir,
                            ExportOptions.builder()
                                    .optOverwrite(true)
                                    .optAccuracy(row.floatAccuracy(), row.accuracy(), row.evalSamples())
                                    .build());
            try (ZooModel<NDList, NDList> frozen =
                            Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(dir).build().loadModel();
                    NDManager manager = frozen.getNDManager().newSubManager()) {
                double accuracy = Evaluation.accuracy(frozen.getBlock(), bench.getTestSet(), manager);
                String integerPath = "";
                if (row.abits() < 32) {
                    try (ZooModel<NDList, NDList> integer =
                            Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(dir)
                                    .optArgument("path", "integer").build().loadModel()) {
                        integerPath = String.format(Locale.ROOT, ", integer path %.2f %%",
                                100 * Evaluation.accuracy(integer.getBlock(), bench.getTestSet(), manager));
                    }
                }
                long bytes = Files.size(dir.resolve(manifest.paramsFile()));
                Path floatParams = bench.getModel().getModelPath().resolve(bench.getModel().getName() + "-0000.params");
                long floatBytes = Files.exists(floatParams) ? Files.size(floatParams) : -1;
                return String.format(
                        Locale.ROOT,
                        "frozen %s W%d%s exported to %s and reloaded through Criteria: %d bytes (float %d, %.1fx"
                                + " smaller), accuracy %.2f %%%s (in memory %.2f %%)",
                        row.method(),
                        row.wbits(),
                        row.abits() < 32 ? "A" + row.abits() : "",
                        dir,
                        bytes,
                        floatBytes,
                        floatBytes / (double) bytes,
                        100 * accuracy,
                        integerPath,
                        100 * row.accuracy());
            }
        } catch (IOException | ModelException e) {
            throw new IllegalStateException("export to " + dir + " failed: " + e.getMessage(), e);
        }
    }
}
