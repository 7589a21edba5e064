package ai.djl.nupes.cli;

import ai.djl.nupes.Method;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.bench.ExportBench;
import ai.djl.nupes.bench.IntegerBench;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.data.SubsetBundler;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModelTrainer;
import ai.djl.nupes.zoo.NupesModelZoo;
import ai.djl.nupes.zoo.ZooWriter;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The command line: {@code quantize} (the default), {@code bench}, {@code train} and {@code
 * bundle-data}. Run with {@code mvn -q compile exec:java -Dexec.args="<command> ..."}.
 */
public final class NupesCli {

    private static final String USAGE =
            String.join(
                    "\n",
                    "usage: <command> [options]",
                    "  quantize [--model cnn] [--bits 4] [--methods ...]",
                    "                                         quantize a bundled test model, print the table",
                    "  bench [--models mlp,cnn,...] [--bits 8,4,3,2] [--methods ...]",
                    "                                         accuracy table for every method; writes"
                            + " target/bench/accuracy.json",
                    "  bench-export [--models ...] [--bits 8,4,3,2]",
                    "                                         frozen size, load time and latency vs float;"
                            + " writes target/bench/export.json",
                    "  bench-integer [--models ...] [--presets W8A8,W4A8,W4A4] [--method powerquant-layer] [--images 256]",
                    "                                         integer kernels vs the float path: kernel"
                            + " throughput, then frozen models on both paths",
                    ai.djl.nupes.bench.embedding.BenchEmbeddingCommand.USAGE,
                    "  zoo                                    rewrite zoo-configs/ (float + frozen NUPES W4/W3)",
                    "  train <mlp|cnn|resnet|transformer|all> retrain a test model on the full"
                            + " Fashion-MNIST into test-models/",
                    "  bundle-data                            rewrite the bundled Fashion-MNIST subsets",
                    "shared options: --abits N (quantized inputs) --iterations N --samples N --seed N --calibration DIR"
                            + " --grid symmetric|half-integer"
                            + " --data DIR");

    private NupesCli() {}

    /**
     * Entry point.
     *
     * @param args the command and its options
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        configureOffline();
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        String command = rest.isEmpty() ? "quantize" : rest.remove(0);
        switch (command) {
            case "quantize":
                QuantizeCommand.run(new Options(rest));
                break;
            case "bench":
                BenchCommand.run(new Options(rest));
                break;
            case "bench-export":
                benchExport(new Options(rest));
                break;
            case "bench-integer":
                benchInteger(new Options(rest));
                break;
            case "bench-embedding":
                ai.djl.nupes.bench.embedding.BenchEmbeddingCommand.run(rest);
                break;
            case "zoo":
                ZooWriter.write(NupesModelZoo.directory(), Arrays.asList(TestModel.values()), new int[] {4, 3});
                System.out.println("wrote " + NupesModelZoo.directory());
                break;
            case "train":
                train(rest);
                break;
            case "bundle-data":
                SubsetBundler.bundle(FashionMnistIdx.SYSTEM_DIRECTORY, FashionMnistIdx.BUNDLED_DIRECTORY);
                System.out.println("wrote " + FashionMnistIdx.BUNDLED_DIRECTORY);
                break;
            case "-h":
            case "--help":
            case "help":
                System.out.println(USAGE);
                break;
            default:
                System.err.println("unknown command '" + command + "'\n" + USAGE);
                System.exit(2);
        }
    }

    /**
     * Keeps the engine offline and untracked unless the caller said otherwise: no native download,
     * no probe of a cloud metadata address.
     */
    static void configureOffline() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getenv("OPT_OUT_TRACKING") == null
                && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private static void benchInteger(Options options) throws Exception {
        System.out.println(IntegerBench.toMarkdown(IntegerBench.run()));
        List<TestModel> models = new ArrayList<>();
        for (String id : options.getList("models", "mlp,cnn,resnet,transformer")) {
            models.add(TestModel.of(id));
        }
        Method method = Method.of(options.get("method", "powerquant-layer"));
        List<IntegerBench.ModelRow> rows =
                IntegerBench.models(
                        models,
                        options.getList("presets", "W8A8,W4A8,W4A4"),
                        preset -> options.config(method, 4).optPreset(preset).build(),
                        options.getInt("images", 256),
                        Paths.get("target", "bench", "frozen-integer"));
        System.out.println(IntegerBench.modelsToMarkdown(rows));
    }

    private static void benchExport(Options options) throws Exception {
        List<TestModel> models = new ArrayList<>();
        for (String id : options.getList("models", "mlp,cnn,resnet,transformer")) {
            models.add(TestModel.of(id));
        }
        int[] bits = options.getList("bits", "8,4,3,2").stream().mapToInt(Integer::parseInt).toArray();
        List<ExportBench.Row> rows =
                ExportBench.run(models, bits, Paths.get("target", "bench", "frozen"), ExportBench.DEFAULT_FILE);
        System.out.println(ExportBench.toMarkdown(rows));
        System.out.println("rows written to " + ExportBench.DEFAULT_FILE.toAbsolutePath());
    }

    private static void train(List<String> args) throws Exception {
        if (args.isEmpty()) {
            throw new IllegalArgumentException("train needs a model: mlp, cnn, resnet, transformer or all");
        }
        List<TestModel> models =
                args.get(0).equals("all") ? Arrays.asList(TestModel.values()) : List.of(TestModel.of(args.get(0)));
        Path data = FashionMnistIdx.resolveDirectory();
        for (TestModel m : models) {
            TestModelTrainer.train(m, TestModelTrainer.defaults(m), data, m.directory());
        }
    }

    /** Parsed {@code --key value} options. */
    static final class Options {
        private final List<String> args;

        Options(List<String> args) {
            this.args = args;
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).startsWith("--") && (i + 1 >= args.size())) {
                    throw new IllegalArgumentException("option " + args.get(i) + " needs a value");
                }
            }
        }

        String get(String key, String fallback) {
            int i = args.indexOf("--" + key);
            return i < 0 ? fallback : args.get(i + 1);
        }

        int getInt(String key, int fallback) {
            String v = get(key, null);
            try {
                return v == null ? fallback : Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + key + " expects a whole number, got '" + v + "'", e);
            }
        }

        List<String> getList(String key, String fallback) {
            return Arrays.asList(get(key, fallback).split(","));
        }

        Path getPath(String key, String fallback) {
            return Paths.get(get(key, fallback));
        }

        private FashionMnistIdx calibration;

        /**
         * The calibration images: {@code --calibration DIR} (a Fashion-MNIST IDX directory, its
         * training split), else the bundled subset; says which, once.
         */
        FashionMnistIdx calibration() {
            if (calibration == null) {
                try {
                    String dir = get("calibration", null);
                    calibration = dir == null
                            ? FashionMnistIdx.bundledCalibration()
                            : FashionMnistIdx.prepared(ai.djl.ndarray.NDManager.newBaseManager(), Paths.get(dir),
                                    FashionMnistIdx.Split.TRAIN, FashionMnistIdx.CALIBRATION_BATCH);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                System.out.println("calibration data: " + calibration.size() + " training images from "
                        + (get("calibration", null) == null
                                ? "the bundled Fashion-MNIST subset " + FashionMnistIdx.BUNDLED_DIRECTORY
                                : get("calibration", null)));
            }
            return calibration;
        }

        /** A config builder from the shared options: --iterations, --samples, --grid, --seed. */
        NupesConfig.Builder config(Method method, int bits) {
            NupesConfig.Builder b =
                    NupesConfig.builder()
                            .optMethod(method)
                            .setBits(bits)
                            .optIterations(getInt("iterations", NupesConfig.DEFAULT_ITERATIONS))
                            .optCalibrationSamples(getInt("samples", NupesConfig.DEFAULT_SAMPLES))
                            .optSeed(getInt("seed", 0))
                            .optActivationBits(getInt("abits", 32));
            if (method.needsCalibrationData() || getInt("abits", 32) < 32) {
                b.optCalibrationData(calibration());
            }
            String grid = get("grid", null);
            if (grid != null) {
                b.optGrid(Grid.valueOf(grid.toUpperCase(java.util.Locale.ROOT).replace('-', '_')));
            }
            return b;
        }
    }
}
