package ai.djl.nupes.bench;

import ai.djl.ModelException;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Size, load time and latency of frozen models against their float originals, measured side by
 * side in one process. Writes {@code target/bench/export.json}.
 *
 * <p>Latency: the block's forward on the bundled test images, batch 1 and batch 64, 5 warm-up runs
 * then the median of 30. Load time: median of 3 {@code Criteria.loadModel()} calls. Peak RSS: the
 * process's high-water mark ({@code VmHWM}) after the model's measurements; it only grows, so it
 * bounds every model measured so far.
 */
public final class ExportBench {

    /** Where the rows go. */
    public static final Path DEFAULT_FILE = Paths.get("target", "bench", "export.json");

    private ExportBench() {}

    /**
     * One row of {@code export.json}.
     *
     * @param model model id
     * @param wbits weight bits
     * @param bytes frozen parameter file bytes
     * @param floatBytes float parameter file bytes
     * @param bitsPerWeight bits per quantized weight, codes + scales + exponents
     * @param loadMs frozen load time
     * @param floatLoadMs float load time
     * @param latencyMsB1 frozen batch-1 latency
     * @param floatLatencyMsB1 float batch-1 latency
     * @param latencyMsB64 frozen batch-64 latency
     * @param floatLatencyMsB64 float batch-64 latency
     * @param peakRssMb process peak resident memory so far
     */
    public record Row(
            String model,
            int wbits,
            long bytes,
            @SerializedName("float_bytes") long floatBytes,
            @SerializedName("bits_per_weight") double bitsPerWeight,
            @SerializedName("load_ms") double loadMs,
            @SerializedName("float_load_ms") double floatLoadMs,
            @SerializedName("latency_ms_b1") double latencyMsB1,
            @SerializedName("float_latency_ms_b1") double floatLatencyMsB1,
            @SerializedName("latency_ms_b64") double latencyMsB64,
            @SerializedName("float_latency_ms_b64") double floatLatencyMsB64,
            @SerializedName("peak_rss_mb") double peakRssMb) {}

    /**
     * Measures every model at every bit width and writes the rows.
     *
     * @param models the models
     * @param bits the bit widths
     * @param workDir where the frozen models are written
     * @param out the JSON file
     * @return the rows
     * @throws IOException on I/O failure
     * @throws ModelException when a model cannot load
     * @throws TranslateException when data cannot be prepared
     */
    public static List<Row> run(List<TestModel> models, int[] bits, Path workDir, Path out)
            throws IOException, ModelException, TranslateException {
        List<Row> rows = new ArrayList<>();
        for (TestModel m : models) {
            Path floatDir = m.directory();
            double floatLoad = loadMs(floatDir);
            double[] floatLatency = latency(floatDir);
            long floatBytes = Files.size(floatDir.resolve(m.id() + "-0000.params"));
            for (int b : bits) {
                Path dir = workDir.resolve(m.id() + "-w" + b);
                Manifest manifest;
                try (ZooModel<NDList, NDList> model = TestModels.load(m)) {
                    QuantizedModel q = Nupes.quantize(model, NupesConfig.builder().setBits(b).build());
                    manifest = FrozenExporter.export(q, dir, ExportOptions.builder().optOverwrite(true).build());
                }
                double[] frozenLatency = latency(dir);
                rows.add(new Row(
                        m.id(),
                        b,
                        Files.size(dir.resolve(manifest.paramsFile())),
                        floatBytes,
                        bitsPerWeight(manifest),
                        loadMs(dir),
                        floatLoad,
                        frozenLatency[0],
                        floatLatency[0],
                        frozenLatency[1],
                        floatLatency[1],
                        ProcessMemory.peakRssMb()));
            }
        }
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, new GsonBuilder().setPrettyPrinting().create().toJson(rows) + '\n',
                StandardCharsets.UTF_8);
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
        sb.append("| model | W | bytes | float bytes | ratio | bits/weight | load ms | float load ms |"
                + " b1 ms | float b1 ms | b64 ms | float b64 ms | peak RSS MB |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT,
                    "| %s | %d | %d | %d | %.1fx | %.3f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f |%n",
                    r.model(), r.wbits(), r.bytes(), r.floatBytes(), r.floatBytes() / (double) r.bytes(),
                    r.bitsPerWeight(), r.loadMs(), r.floatLoadMs(), r.latencyMsB1(), r.floatLatencyMsB1(),
                    r.latencyMsB64(), r.floatLatencyMsB64(), r.peakRssMb()));
        }
        return sb.toString();
    }

    private static double bitsPerWeight(Manifest manifest) {
        long weights = 0;
        long bytes = 0;
        for (Manifest.Layer l : manifest.layers()) {
            weights += Arrays.stream(l.shape()).reduce(1, (a, b) -> a * b);
            bytes += l.packedBytes() + 4L * (l.shape()[0] + l.exponents().length);
        }
        return 8.0 * bytes / weights;
    }

    private static ZooModel<NDList, NDList> load(Path dir) throws IOException, ModelException {
        return Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(dir).build().loadModel();
    }

    private static double loadMs(Path dir) throws IOException, ModelException {
        double[] t = new double[3];
        for (int i = 0; i < t.length; i++) {
            long start = System.nanoTime();
            try (ZooModel<NDList, NDList> ignored = load(dir)) {
                t[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        Arrays.sort(t);
        return t[1];
    }

    /** Median forward latency at batch 1 and batch 64. */
    private static double[] latency(Path dir) throws IOException, ModelException, TranslateException {
        try (ZooModel<NDList, NDList> model = load(dir);
                NDManager manager = model.getNDManager().newSubManager()) {
            FashionMnistIdx test =
                    FashionMnistIdx.prepared(
                            manager, FashionMnistIdx.BUNDLED_DIRECTORY, FashionMnistIdx.Split.TEST, 64);
            Block block = model.getBlock();
            double[] out = new double[2];
            int[] sizes = {1, 64};
            for (int s = 0; s < sizes.length; s++) {
                NDList x = test.getByRange(manager, 0, sizes[s]).getData();
                double[] t = new double[30];
                for (int i = -5; i < t.length; i++) {
                    try (NDManager step = manager.newSubManager()) {
                        long start = System.nanoTime();
                        Evaluation.predict(block, x, step).head().toFloatArray();
                        if (i >= 0) {
                            t[i] = (System.nanoTime() - start) / 1e6;
                        }
                    }
                }
                Arrays.sort(t);
                out[s] = t[t.length / 2];
            }
            return out;
        }
    }

}
