package ai.djl.nupes.cli;

import ai.djl.MalformedModelException;
import ai.djl.ModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.bench.AccuracyBook;
import ai.djl.nupes.bench.AccuracyRow;
import ai.djl.nupes.bench.ModelBench;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenBlockFactory;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code quantize} (the default command), in two modes.
 *
 * <p>With {@code --model ID} (or neither model option): quantizes a bundled test model (the CNN) at
 * W4 with uniform, per-layer PowerQuant and NUPES, evaluates each on the bundled 2000-image test
 * subset and prints float and quantized accuracy side by side; then exports the last one as a
 * frozen model to {@code target/frozen/<model>}, reloads it through {@code Criteria} and prints its
 * size and accuracy next to the in-memory result; with quantized inputs ({@code --abits}) also its
 * accuracy on the integer-only path.
 *
 * <p>With {@code --model-path DIR}: any DJL model directory whose {@code serving.properties} names a
 * block factory, quantized with one method at one bit width on {@code --calibration} images;
 * prints the per-layer report, exports the frozen model to {@code --out}, reloads it through {@code
 * Criteria} and checks it on the evaluation images: accuracy when they are labelled, and top-1
 * agreement with the float model always.
 */
@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Quantizes a model, exports it frozen, reloads it through Criteria and checks it.",
            "Without --model-path: a bundled test model with several methods, scored on the bundled test subset.",
            "With --model-path DIR: any DJL model directory (serving.properties naming a blockFactory), one"
                    + " method, calibrated on --calibration images; accuracy when the images are labelled"
                    + " (class subfolders, IDX labels), top-1 agreement with the float model always."
        })
final class QuantizeCommand implements Callable<Integer> {

    private static final Pattern PARAMS = Pattern.compile("(.+)-(\\d{4})\\.params");

    @Spec CommandSpec spec;

    @Option(names = "--model", paramLabel = "ID", converter = Converters.TestModelId.class,
            description = "a bundled test model: mlp, cnn, resnet or transformer (default: cnn)")
    TestModel model;

    @Option(names = "--model-path", paramLabel = "PATH",
            description = "a DJL model directory whose serving.properties names a blockFactory (or a test model id);"
                    + " or a BERT-family sentence encoder: an .onnx file, a directory or jar holding one (the Maven"
                    + " jar of all-MiniLM-L6-v2, or all-minilm-l6-v2 for the one on the classpath)")
    Path modelPath;

    @Option(names = "--input-shape", paramLabel = "C,H,W", converter = Converters.SampleShape.class,
            description = "the shape of one image without the batch axis, as 1,28,28; images of another size or"
                    + " channel count are refused (default: the first image's)")
    Shape inputShape;

    @Option(names = "--bits", split = ",", paramLabel = "N", converter = Converters.Bits.class,
            description = "weight bits, 2..8; several, comma-separated, without --model-path (default: 4)")
    List<Integer> bits;

    @Option(names = {"--methods", "--method"}, split = ",", paramLabel = "METHOD", converter = Converters.MethodId.class,
            description = "uniform, powerquant-global, powerquant-layer, learned-rounding, nupes-fixed-a, nupes, gptq,"
                    + " gptq-power; several, comma-separated, without --model-path (default: uniform,powerquant-layer,nupes;"
                    + " with --model-path: nupes)")
    List<Method> methods;

    @Option(names = "--group-size", paramLabel = "N", converter = Converters.NonNegative.class,
            description = "one scale per N inputs of a channel; 0 for one per channel (default: ${DEFAULT-VALUE})")
    int groupSize;

    @Option(names = "--embedding-bits", paramLabel = "N", converter = Converters.ActivationBits.class,
            description = "sentence encoders: the word, position and type tables at N bits (2..8); 32 keeps them"
                    + " float (default: ${DEFAULT-VALUE})")
    int embeddingBits = 32;

    @Mixin SharedOptions shared;

    @Option(names = "--eval", paramLabel = "SOURCE",
            description = "with --model-path: the evaluation images, any --calibration source (default: the test"
                    + " split of an IDX --calibration, else the calibration images); for a sentence encoder a text"
                    + " file, one sentence a line (default: the first 128 bundled KJV evaluation verses)")
    String eval;

    @Option(names = "--data", paramLabel = "DIR",
            description = "without --model-path: Fashion-MNIST IDX directory to evaluate on (default: the bundled subset)")
    Path data;

    @Option(names = {"--out", "--export"}, paramLabel = "DIR",
            description = "where the frozen model goes; an existing directory is replaced only when it is a frozen"
                    + " model (default: target/frozen/<model>)")
    Path out;

    private Result result;
    private TextEncoderQuantize.Result textResult;

    /** What a {@code --model-path} run measured. */
    record Result(
            Method method,
            int bits,
            Path frozen,
            long frozenBytes,
            long floatBytes,
            long evalImages,
            boolean labelled,
            double floatAccuracy,
            double quantizedAccuracy,
            double frozenAccuracy,
            double quantizedAgreement,
            double frozenAgreement) {}

    /**
     * Returns what the last {@code --model-path} run measured.
     *
     * @return the result, or null
     */
    Result result() {
        return result;
    }

    /**
     * Returns what the last {@code --model-path} run on a sentence encoder measured.
     *
     * @return the result, or null
     */
    TextEncoderQuantize.Result textResult() {
        return textResult;
    }

    @Override
    public Integer call() throws Exception {
        if (modelPath != null && model != null) {
            throw usage("give --model (a bundled test model) or --model-path (a model directory), not both");
        }
        if (modelPath == null) {
            for (Object[] o : new Object[][] {{inputShape, "--input-shape"}, {eval, "--eval"}}) {
                if (o[0] != null) {
                    throw usage(o[1] + " applies with --model-path; the bundled test models take (1, 28, 28) images");
                }
            }
            if (embeddingBits != 32) {
                throw usage("--embedding-bits applies with --model-path to sentence encoders");
            }
            return quantizeTestModel(spec.commandLine().getOut());
        }
        if (data != null) {
            throw usage("--data applies without --model-path; name the evaluation images with --eval");
        }
        return quantizeDirectory(spec.commandLine().getOut());
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    // ---------------------------------------------------------------------------------------------
    // --model ID: the main job

    private int quantizeTestModel(PrintWriter w) throws Exception {
        TestModel testModel = model == null ? TestModel.CNN : model;
        List<Integer> bitList = bits == null ? List.of(4) : bits;
        List<Method> methodList = methods == null ? List.of(Method.UNIFORM, Method.POWERQUANT_LAYER, Method.NUPES) : methods;
        Path dataDir = data == null ? FashionMnistIdx.BUNDLED_DIRECTORY : data;
        Path exportDir = out == null ? Paths.get("target", "frozen", testModel.id()) : out;
        checkOut(exportDir, testModel.directory());
        List<AccuracyRow> rows = new ArrayList<>();
        String[] exported = new String[1];
        try (ModelBench bench = new ModelBench(testModel, dataDir)) {
            rows.add(bench.floatRow());
            for (int bi = 0; bi < bitList.size(); bi++) {
                for (int mi = 0; mi < methodList.size(); mi++) {
                    boolean last = bi == bitList.size() - 1 && mi == methodList.size() - 1;
                    NupesConfig config = shared.config(methodList.get(mi), bitList.get(bi), w).optGroupSize(groupSize).build();
                    rows.add(bench.run(config, last ? (q, row) -> exported[0] = exportAndReload(q, row, bench, exportDir) : null));
                }
            }
        }
        w.println(BenchCommand.describeData(dataDir));
        w.println(AccuracyBook.toMarkdown(rows));
        if (exported[0] != null) {
            w.println(exported[0]);
        }
        if (model == null) {
            w.println(languageModelRows(AccuracyBook.DEFAULT_FILE));
        }
        return 0;
    }

    /**
     * The main job's last part: the {@code lm}'s perplexity rows that {@code bench-lm} runs merged
     * into an accuracy file (measuring them takes minutes per row, so the main job shows them
     * rather than running them), or the command that writes them.
     *
     * @param file the accuracy file
     * @return the table, or a line saying there are no rows yet
     * @throws IOException when the file exists but cannot be read
     */
    static String languageModelRows(Path file) throws IOException {
        List<AccuracyRow> lm = AccuracyBook.read(file).stream()
                .filter(r -> "lm".equals(r.model()) && r.perplexity() != null)
                .toList();
        if (lm.isEmpty()) {
            return "lm perplexity: no rows in " + file + " yet; `bench-lm` measures and merges them"
                    + " (the README's Perplexity bench has the table)";
        }
        return "lm perplexity, as bench-lm measured it (" + file + "):\n" + AccuracyBook.toLanguageMarkdown(lm);
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
            try (ZooModel<NDList, NDList> frozen = loadFrozen(dir, "float");
                    NDManager manager = frozen.getNDManager().newSubManager()) {
                double accuracy = Evaluation.accuracy(frozen.getBlock(), bench.getTestSet(), manager);
                String integerPath = "";
                if (row.abits() < 32) {
                    try (ZooModel<NDList, NDList> integer = loadFrozen(dir, "integer")) {
                        integerPath = String.format(Locale.ROOT, ", integer path %.2f %%",
                                100 * Evaluation.accuracy(integer.getBlock(), bench.getTestSet(), manager));
                    }
                }
                long bytes = Files.size(dir.resolve(manifest.paramsFile()));
                long floatBytes = floatParamsBytes(bench.getModel().getModelPath());
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

    // ---------------------------------------------------------------------------------------------
    // --model-path DIR

    private int quantizeDirectory(PrintWriter w) throws Exception {
        Method method = single(methods, Method.NUPES, "--methods");
        int b = single(bits, 4, "--bits");
        Path encoder = TextEncoderQuantize.encoderSource(modelPath);
        if (encoder != null) {
            if (inputShape != null) {
                throw usage("--input-shape applies to image models; a sentence encoder takes text");
            }
            textResult = TextEncoderQuantize.run(this, encoder, method, b, w);
            return 0;
        }
        if (embeddingBits != 32) {
            throw usage("--embedding-bits applies to sentence encoders");
        }
        Path dir = resolveModelDirectory();
        String modelName = modelName(dir);
        Path outDir = out != null ? out : Paths.get("target", "frozen", dir.getFileName() + "-" + method.id() + "-w" + b);
        checkOut(outDir, dir);
        try (ZooModel<NDList, NDList> floatModel = loadModel(dir, modelName);
                NDManager manager = floatModel.getNDManager().newSubManager()) {
            ImageData calibration = ImageData.load(manager, shared.calibration, inputShape,
                    FashionMnistIdx.Split.TRAIN, "--calibration");
            ImageData evaluation = evaluation(manager, calibration);
            w.println("model: " + dir + " (" + floatModel.getBlock().getClass().getSimpleName() + ", "
                    + parameterCount(floatModel.getBlock()) + " parameters)");
            w.println("calibration: " + calibration.description());
            w.println("evaluation: " + (evaluation == calibration ? "the calibration images" : evaluation.description()));
            w.flush();
            Block block = floatModel.getBlock();
            checkFits(block, calibration, dir, "--calibration", manager);
            if (evaluation != calibration) {
                checkFits(block, evaluation, dir, "--eval", manager);
            }
            long[] floatTop1 = top1(block, evaluation.images(), manager);
            NupesConfig.Builder config = shared.base(method, b).optGroupSize(groupSize);
            if (method.needsCalibrationData() || shared.abits < 32) {
                config.optCalibrationData(calibration.dataset(FashionMnistIdx.CALIBRATION_BATCH))
                        .optCalibrationSamples(shared.samplesOf(calibration.size()));
            }
            NupesConfig c = config.build();
            w.println("quantizing with " + method.id() + " W" + b + (shared.abits < 32 ? "A" + shared.abits : "")
                    + (groupSize > 0 ? " g" + groupSize : "") + ", seed " + shared.seed
                    + (method.needsCalibrationData()
                            ? ", " + Math.min(shared.samples, calibration.size()) + " calibration samples, "
                                    + shared.iterations + " steps per layer"
                            : " (data-free)"));
            w.flush();
            QuantizedModel q = Nupes.quantize(floatModel, c);
            w.println();
            w.println(q.getReport().toMarkdown());
            w.printf(Locale.ROOT, "quantized %d layers in %.1f s, %.3f bits per weight%n", q.getReport().layers().size(),
                    q.getReport().seconds(), q.getReport().bitsPerWeight());
            long[] quantizedTop1 = top1(block, evaluation.images(), manager);
            boolean labelled = evaluation.labels() != null;
            long[] truth = labelled ? evaluation.labels().toType(DataType.INT64, false).toLongArray() : null;
            double floatAcc = labelled ? agreement(floatTop1, truth) : Double.NaN;
            double quantizedAcc = labelled ? agreement(quantizedTop1, truth) : Double.NaN;
            ExportOptions.Builder options = ExportOptions.builder().optOverwrite(true);
            if (labelled) {
                options.optAccuracy(floatAcc, quantizedAcc, evaluation.size());
            }
            Manifest manifest = FrozenExporter.export(q, outDir, options.build());
            long frozenBytes = Files.size(outDir.resolve(manifest.paramsFile()));
            long floatBytes = floatParamsBytes(dir);
            long[] frozenTop1;
            String integerLine = null;
            try (ZooModel<NDList, NDList> frozen = loadFrozen(outDir, "float");
                    NDManager fm = frozen.getNDManager().newSubManager()) {
                frozenTop1 = top1(frozen.getBlock(), evaluation.images(), fm);
                if (shared.abits < 32) {
                    try (ZooModel<NDList, NDList> integer = loadFrozen(outDir, "integer")) {
                        long[] integerTop1 = top1(integer.getBlock(), evaluation.images(), fm);
                        integerLine = String.format(Locale.ROOT, "integer-only path: %s, top-1 agreement with the"
                                + " float model %.2f %%", labelled
                                        ? String.format(Locale.ROOT, "accuracy %.2f %%", 100 * agreement(integerTop1, truth))
                                        : "unlabelled",
                                100 * agreement(integerTop1, floatTop1));
                    }
                }
            }
            result = new Result(method, b, outDir, frozenBytes, floatBytes, evaluation.size(), labelled, floatAcc,
                    quantizedAcc, labelled ? agreement(frozenTop1, truth) : Double.NaN,
                    agreement(quantizedTop1, floatTop1), agreement(frozenTop1, floatTop1));
            w.printf(Locale.ROOT, "frozen %s W%d exported to %s and reloaded through Criteria: %d bytes (float %d,"
                    + " %.1fx smaller)%n", method.id(), b, outDir, frozenBytes, floatBytes, floatBytes / (double) frozenBytes);
            if (labelled) {
                w.printf(Locale.ROOT, "accuracy on %d labelled images: float %.2f %%, quantized in memory %.2f %%,"
                                + " frozen %.2f %%%n", evaluation.size(), 100 * floatAcc, 100 * quantizedAcc,
                        100 * result.frozenAccuracy());
            }
            w.printf(Locale.ROOT, "top-1 agreement with the float model on %d images: quantized in memory %.2f %%,"
                    + " frozen %.2f %%%n", evaluation.size(), 100 * result.quantizedAgreement(),
                    100 * result.frozenAgreement());
            if (integerLine != null) {
                w.println(integerLine);
            }
            w.flush();
            return 0;
        }
    }

    private <T> T single(List<T> values, T fallback, String option) {
        if (values == null) {
            return fallback;
        }
        if (values.size() != 1) {
            throw usage("with --model-path, " + option + " takes one value; got " + values.size());
        }
        return values.get(0);
    }

    private ImageData evaluation(NDManager manager, ImageData calibration) throws IOException {
        if (eval != null) {
            return ImageData.load(manager, eval, inputShape, FashionMnistIdx.Split.TEST, "--eval");
        }
        String c = shared.calibration;
        boolean idxDirectory = ImageData.isBundled(c) || Files.isDirectory(Paths.get(c));
        if (idxDirectory && ImageData.hasIdxSplit(c, FashionMnistIdx.Split.TEST)) {
            return ImageData.load(manager, c, inputShape, FashionMnistIdx.Split.TEST, "--calibration");
        }
        return calibration;
    }

    /** The model directory of {@code --model-path}, checked: it exists and names a float block factory. */
    private Path resolveModelDirectory() throws IOException {
        Path dir = modelPath;
        if (!Files.exists(dir)) {
            if (dir.getNameCount() == 1 && isTestModelId(dir.toString())) {
                return TestModel.of(dir.toString()).directory();
            }
            throw new NupesCli.BadInput("--model-path: " + dir.toAbsolutePath() + " does not exist");
        }
        if (!Files.isDirectory(dir)) {
            throw new NupesCli.BadInput("--model-path: " + dir.toAbsolutePath()
                    + " is a file; expected a DJL model directory with serving.properties");
        }
        Path serving = dir.resolve("serving.properties");
        if (!Files.isRegularFile(serving)) {
            throw new NupesCli.BadInput("--model-path: " + serving.toAbsolutePath() + " not found; a model directory"
                    + " names the block factory that builds its network there (blockFactory=<class>)");
        }
        Properties p = properties(serving);
        String factory = p.getProperty("blockFactory");
        if (factory == null || factory.isBlank()) {
            throw new NupesCli.BadInput("--model-path: " + serving.toAbsolutePath() + " names no blockFactory;"
                    + " the quantizer rebuilds the network from it (blockFactory=<class implementing"
                    + " ai.djl.nn.BlockFactory>)");
        }
        if (factory.trim().equals(FrozenBlockFactory.class.getName())) {
            throw new NupesCli.BadInput("--model-path: " + dir.toAbsolutePath() + " is already a frozen quantized"
                    + " model; quantize the float model it came from");
        }
        return dir;
    }

    private static boolean isTestModelId(String id) {
        for (TestModel m : TestModel.values()) {
            if (m.id().equals(id)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The model name to load with: {@code option.modelName} of serving.properties, else the prefix of
     * the one {@code NAME-NNNN.params} file.
     */
    private static String modelName(Path dir) throws IOException {
        String named = properties(dir.resolve("serving.properties")).getProperty("option.modelName");
        TreeSet<String> prefixes = new TreeSet<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(f -> {
                Matcher m = PARAMS.matcher(f.getFileName().toString());
                if (m.matches()) {
                    prefixes.add(m.group(1));
                }
            });
        }
        if (named != null && !named.isBlank()) {
            if (!prefixes.contains(named.trim())) {
                throw new NupesCli.BadInput("--model-path: " + dir.resolve("serving.properties").toAbsolutePath()
                        + " names option.modelName=" + named.trim() + ", but " + dir.toAbsolutePath() + " holds no "
                        + named.trim() + "-NNNN.params" + (prefixes.isEmpty() ? "" : " (it holds " + prefixes + ")"));
            }
            return named.trim();
        }
        if (prefixes.size() != 1) {
            throw new NupesCli.BadInput("--model-path: " + dir.toAbsolutePath() + (prefixes.isEmpty()
                    ? " holds no parameter file NAME-NNNN.params"
                    : " holds parameter files of several models " + prefixes + "; name one with option.modelName"
                            + " in serving.properties"));
        }
        return prefixes.first();
    }

    private static Properties properties(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        return p;
    }

    private static ZooModel<NDList, NDList> loadModel(Path dir, String name) {
        try {
            return Criteria.builder()
                    .setTypes(NDList.class, NDList.class)
                    .optModelPath(dir)
                    .optModelName(name)
                    .build()
                    .loadModel();
        } catch (IOException | ModelException | RuntimeException e) {
            throw new NupesCli.BadInput("--model-path: cannot load the model in " + dir.toAbsolutePath() + ": "
                    + e.getMessage());
        }
    }

    private static ZooModel<NDList, NDList> loadFrozen(Path dir, String path) throws IOException, ModelException {
        Criteria.Builder<NDList, NDList> b = Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(dir);
        if (!path.equals("float")) {
            b.optArgument("path", path);
        }
        try {
            return b.build().loadModel();
        } catch (MalformedModelException e) {
            throw new IllegalStateException("the frozen model in " + dir + " does not reload: " + e.getMessage(), e);
        }
    }

    /** Refuses an output directory that is the model itself, a file, or a directory that is not a frozen model. */
    static void checkOut(Path outDir, Path modelDir) throws IOException {
        if (!Files.exists(outDir)) {
            return;
        }
        if (Files.exists(modelDir) && Files.isSameFile(outDir, modelDir)) {
            throw new NupesCli.BadInput("--out: " + outDir.toAbsolutePath() + " is the model directory itself");
        }
        if (!Files.isDirectory(outDir)) {
            throw new NupesCli.BadInput("--out: " + outDir.toAbsolutePath() + " is a file");
        }
        boolean empty;
        try (Stream<Path> s = Files.list(outDir)) {
            empty = s.findAny().isEmpty();
        }
        if (!empty && !Files.isRegularFile(outDir.resolve("manifest.json"))) {
            throw new NupesCli.BadInput("--out: " + outDir.toAbsolutePath() + " exists and is not a frozen model"
                    + " (no manifest.json); name a new or empty directory");
        }
    }

    private static long floatParamsBytes(Path dir) throws IOException {
        long bytes = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                if (PARAMS.matcher(f.getFileName().toString()).matches()) {
                    bytes += Files.size(f);
                }
            }
        }
        return bytes == 0 ? -1 : bytes;
    }

    private static long parameterCount(Block block) {
        return block.getParameters().values().stream()
                .filter(p -> p.getArray() != null)
                .mapToLong(p -> p.getArray().size())
                .sum();
    }

    /** Runs two images through the float block, refusing images the model does not take. */
    private static void checkFits(Block block, ImageData images, Path dir, String option, NDManager manager) {
        try (NDManager step = manager.newSubManager()) {
            NDArray x = images.images().get(step, new NDIndex("0:{}", Math.min(2, images.size())));
            NDArray y = block.forward(new ParameterStore(step, false), new NDList(x), false).head();
            if (y.getShape().dimension() != 2) {
                throw new NupesCli.BadInput("the model in " + dir.toAbsolutePath() + " returns " + y.getShape()
                        + " for " + x.getShape() + " images; the image checks need (batch, classes) scores");
            }
        } catch (NupesCli.BadInput e) {
            throw e;
        } catch (RuntimeException e) {
            throw new NupesCli.BadInput(option + ": the model in " + dir.toAbsolutePath() + " does not take "
                    + images.description() + ": " + firstLine(e.getMessage())
                    + "; give images of the size the model takes");
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** The top-1 class of each image, in batches. */
    static long[] top1(Block block, NDArray images, NDManager manager) {
        long n = images.getShape().get(0);
        long[] out = new long[Math.toIntExact(n)];
        for (long from = 0; from < n; from += Evaluation.BATCH_SIZE) {
            long to = Math.min(n, from + Evaluation.BATCH_SIZE);
            try (NDManager step = manager.newSubManager()) {
                NDArray x = images.get(step, new NDIndex("{}:{}", from, to));
                NDArray logits = block.forward(new ParameterStore(step, false), new NDList(x), false).head();
                long[] p = logits.argMax(1).toType(DataType.INT64, false).toLongArray();
                System.arraycopy(p, 0, out, (int) from, p.length);
            }
        }
        return out;
    }

    /** The fraction of positions where two label arrays agree. */
    static double agreement(long[] a, long[] b) {
        long same = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) {
                same++;
            }
        }
        return a.length == 0 ? Double.NaN : same / (double) a.length;
    }
}
