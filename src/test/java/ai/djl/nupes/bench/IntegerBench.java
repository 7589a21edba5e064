package ai.djl.nupes.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.export.IntegerPathCheck;
import ai.djl.nupes.integer.IntegerKernels;
import ai.djl.nupes.integer.PowerProductTable;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Throughput of the pure-Java integer reference kernels against DJL's float path (decoded
 * weights, then {@code Linear.linear} / {@code Conv2d.conv2d} in the engine) on the CNN's layer
 * shapes, W4A8 codes. Median of 9 timed runs after 2 warm-ups. The integer kernels are scalar
 * Java loops written for correctness: the table says how far they are from the engine.
 */
public final class IntegerBench {

    private IntegerBench() {}

    /**
     * One measured shape.
     *
     * @param layer the layer shape
     * @param batch batch size
     * @param integerMs integer kernel, ms per call
     * @param floatMs DJL float path, ms per call
     * @param macs multiply-accumulates per call
     */
    public record Row(String layer, int batch, double integerMs, double floatMs, long macs) {}

    /**
     * Measures the CNN's second convolution and first Linear at batch 1 and 16.
     *
     * @return the rows
     */
    public static List<Row> run() {
        List<Row> rows = new ArrayList<>();
        Random r = new Random(1);
        PowerProductTable table = new PowerProductTable(7, 255, 0.7f);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int batch : new int[] {1, 16}) {
                // Linear 3136 -> 128
                int in = 3136;
                int out = 128;
                int[] wc = codes(r, out * in, 7, true);
                int[] xc = codes(r, batch * in, 255, false);
                float[] ws = new float[out];
                Arrays.fill(ws, 0.1f);
                NDArray w = manager.randomNormal(new Shape(out, in));
                NDArray x = manager.randomNormal(new Shape(batch, in));
                double intMs = time(() -> IntegerKernels.linear(wc, ws, xc, 1f, table, null, batch));
                double floatMs = time(() -> Linear.linear(x, w).head().toFloatArray());
                rows.add(new Row("Linear 3136→128", batch, intMs, floatMs, (long) batch * in * out));
                // Conv2d 32 -> 64, 3x3, padding 1, on 14x14
                int[] shape = {batch, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1};
                int[] cwc = codes(r, 64 * 32 * 9, 7, true);
                int[] cxc = codes(r, batch * 32 * 14 * 14, 255, false);
                float[] cws = new float[64];
                Arrays.fill(cws, 0.1f);
                NDArray cw = manager.randomNormal(new Shape(64, 32, 3, 3));
                NDArray cx = manager.randomNormal(new Shape(batch, 32, 14, 14));
                double cIntMs = time(() -> IntegerKernels.conv2d(cwc, cws, cxc, 1f, table, null, shape));
                double cFloatMs =
                        time(() -> Conv2d.conv2d(cx, cw, null, new Shape(1, 1), new Shape(1, 1), new Shape(1, 1), 1)
                                .head().toFloatArray());
                rows.add(new Row("Conv2d 32→64 3x3 on 14x14", batch, cIntMs, cFloatMs, (long) batch * 64 * 32 * 9 * 196));
            }
        }
        return rows;
    }

    /**
     * Formats rows as markdown.
     *
     * @param rows the rows
     * @return the table
     */
    public static String toMarkdown(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| layer | batch | integer ms | float ms | integer GMAC/s | float GMAC/s | integer / float |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.2f | %.3f | %.2f | %.2f | %.1fx slower |%n",
                    r.layer(), r.batch(), r.integerMs(), r.floatMs(), r.macs() / r.integerMs() / 1e6,
                    r.macs() / r.floatMs() / 1e6, r.integerMs() / r.floatMs()));
        }
        return sb.toString();
    }

    /**
     * One frozen model run on both paths.
     *
     * @param model the test model
     * @param preset the W/A preset
     * @param method the quantization method
     * @param layers frozen layers checked
     * @param worstLayer the layer with the largest float/integer difference
     * @param worstRelative its {@code max|y_int - y_float| / max|y_float|}
     * @param images test images classified on each path
     * @param floatAccuracy top-1 % on the float path
     * @param integerAccuracy top-1 % on the integer path
     * @param agreeing images classified the same by both paths
     * @param floatMsPerImage float path wall time per image
     * @param integerMsPerImage integer path wall time per image
     */
    public record ModelRow(
            String model,
            String preset,
            String method,
            int layers,
            String worstLayer,
            double worstRelative,
            int images,
            double floatAccuracy,
            double integerAccuracy,
            int agreeing,
            double floatMsPerImage,
            double integerMsPerImage) {}

    /**
     * Quantizes each model at each preset, exports it, loads the frozen directory twice through
     * {@code Criteria} ({@code path=float} and {@code path=integer}), compares every layer's two
     * paths on 8 test images ({@link IntegerPathCheck}) and classifies the first {@code images}
     * bundled test images on each path.
     *
     * @param models the test models
     * @param presets W/A presets such as W8A8
     * @param config the config for a preset (method, samples, seed)
     * @param images how many bundled test images to classify
     * @param dir where the frozen models go
     * @return the rows
     * @throws Exception when a model fails to load, quantize or export
     */
    public static List<ModelRow> models(
            List<TestModel> models,
            List<String> presets,
            java.util.function.Function<String, NupesConfig> config,
            int images,
            Path dir)
            throws Exception {
        List<ModelRow> rows = new ArrayList<>();
        for (TestModel testModel : models) {
            for (String preset : presets) {
                NupesConfig c = config.apply(preset);
                Path out = dir.resolve(testModel.id() + '-' + preset + '-' + c.getMethod().id());
                try (ZooModel<NDList, NDList> model = TestModels.load(testModel)) {
                    FrozenExporter.export(
                            Nupes.quantize(model, c), out, ExportOptions.builder().optOverwrite(true).build());
                }
                try (ZooModel<NDList, NDList> viaFloat = load(out, "float");
                        ZooModel<NDList, NDList> viaInteger = load(out, "integer");
                        NDManager manager = viaFloat.getNDManager().newSubManager()) {
                    FashionMnistIdx test =
                            FashionMnistIdx.prepared(
                                    manager, FashionMnistIdx.BUNDLED_DIRECTORY, FashionMnistIdx.Split.TEST, 64);
                    int n = (int) Math.min(images, test.size());
                    List<IntegerPathCheck.LayerDifference> diffs;
                    // a Batch closes the manager it was made in
                    try (NDManager step = manager.newSubManager()) {
                        Batch probe = test.getByRange(step, 0, 8);
                        diffs = IntegerPathCheck.run(viaInteger.getBlock(), probe.getData(), step);
                    }
                    IntegerPathCheck.LayerDifference worst =
                            diffs.stream()
                                    .max(java.util.Comparator.comparingDouble(IntegerPathCheck.LayerDifference::relative))
                                    .orElseThrow();
                    long[] labels;
                    try (NDManager step = manager.newSubManager()) {
                        labels = test.getByRange(step, 0, n).getLabels().head().toType(DataType.INT64, false)
                                .toLongArray();
                    }
                    long start = System.nanoTime();
                    long[] floatClasses = classify(viaFloat.getBlock(), test, n, manager);
                    double floatMs = (System.nanoTime() - start) / 1e6 / n;
                    start = System.nanoTime();
                    long[] integerClasses = classify(viaInteger.getBlock(), test, n, manager);
                    double integerMs = (System.nanoTime() - start) / 1e6 / n;
                    int floatCorrect = 0;
                    int integerCorrect = 0;
                    int agreeing = 0;
                    for (int i = 0; i < n; i++) {
                        floatCorrect += floatClasses[i] == labels[i] ? 1 : 0;
                        integerCorrect += integerClasses[i] == labels[i] ? 1 : 0;
                        agreeing += floatClasses[i] == integerClasses[i] ? 1 : 0;
                    }
                    rows.add(new ModelRow(testModel.id(), preset, c.getMethod().id(), diffs.size(), worst.path(),
                            worst.relative(), n, 100.0 * floatCorrect / n, 100.0 * integerCorrect / n, agreeing,
                            floatMs, integerMs));
                }
            }
        }
        return rows;
    }

    private static ZooModel<NDList, NDList> load(Path dir, String path) throws Exception {
        return Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optModelPath(dir)
                .optArgument("path", path)
                .build()
                .loadModel();
    }

    /** Top-1 classes of the first n images, 32 per forward. */
    private static long[] classify(Block block, FashionMnistIdx test, int n, NDManager manager) throws Exception {
        long[] classes = new long[n];
        for (int from = 0; from < n; from += 32) {
            try (NDManager step = manager.newSubManager()) {
                Batch batch = test.getByRange(step, from, Math.min(n, from + 32));
                NDArray logits = block.forward(new ParameterStore(step, false), batch.getData(), false).head();
                long[] c = logits.argMax(1).toType(DataType.INT64, false).toLongArray();
                System.arraycopy(c, 0, classes, from, c.length);
            }
        }
        return classes;
    }

    /**
     * Formats model rows as markdown.
     *
     * @param rows the rows
     * @return the table
     */
    public static String modelsToMarkdown(List<ModelRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | W/A | method | layers | worst layer | max rel. diff | images | float path % "
                + "| integer path % | same class | float ms/img | integer ms/img |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (ModelRow r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %s | %.1e | %d | %.2f | %.2f | %d/%d | %.2f | %.1f |%n",
                    r.model(), r.preset(), r.method(), r.layers(), r.worstLayer(), r.worstRelative(), r.images(),
                    r.floatAccuracy(), r.integerAccuracy(), r.agreeing(), r.images(), r.floatMsPerImage(),
                    r.integerMsPerImage()));
        }
        return sb.toString();
    }

    private static int[] codes(Random r, int n, int max, boolean signed) {
        int[] c = new int[n];
        for (int i = 0; i < n; i++) {
            c[i] = signed ? r.nextInt(2 * max + 1) - max : r.nextInt(max + 1);
        }
        return c;
    }

    private static double time(Runnable op) {
        double[] t = new double[9];
        for (int i = -2; i < t.length; i++) {
            long start = System.nanoTime();
            op.run();
            if (i >= 0) {
                t[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }
}
