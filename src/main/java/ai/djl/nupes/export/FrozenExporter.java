package ai.djl.nupes.export;

import ai.djl.nupes.format.Checksums;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.format.ParameterFile;
import ai.djl.nupes.format.BitPacker;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nupes.LayerReport;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.nn.FrozenLayer;
import ai.djl.nupes.nn.FrozenWeights;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.transform.BlockTransformer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Writes a quantized model as a frozen model directory that {@code
 * Criteria.builder().optModelPath(dir)} loads with no other argument:
 *
 * <pre>
 * dir/
 *   serving.properties   blockFactory=ai.djl.nupes.export.FrozenBlockFactory, option.modelName
 *   manifest.json        versions, architecture, per-layer bits/exponents/shape/checksums, provenance
 *   NAME-0000.params     DJL parameters: float parameters of the unquantized blocks, and per frozen
 *                        layer its packed UINT8 codes, FLOAT32 scales, exponents and bias
 * </pre>
 *
 * <p>The directory is written under a temporary name beside the target and renamed into place, so
 * a failed export leaves nothing half-written; an existing target is refused unless {@link
 * ExportOptions.Builder#optOverwrite} says otherwise.
 */
public final class FrozenExporter {

    private static final Logger logger = LoggerFactory.getLogger(FrozenExporter.class);
    private static final String PRODUCER = "djl-nupes 0.1.0";
    private static final String SERVING = "serving.properties";

    private FrozenExporter() {}

    /**
     * Exports a quantized model.
     *
     * @param quantized the result of {@code Nupes.quantize}
     * @param dir the target directory
     * @param options the options
     * @return the manifest written
     * @throws IOException when the target exists (and overwrite is off), the architecture is unknown,
     *     or writing fails
     */
    public static Manifest export(QuantizedModel quantized, Path dir, ExportOptions options)
            throws IOException {
        Path target = dir.toAbsolutePath().normalize();
        Model model = quantized.getModel();
        checkTarget(target, model, options);
        Manifest.Architecture architecture = architecture(model, options);
        String name = options.modelName() != null ? options.modelName() : target.getFileName().toString();
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".tmp");
        try {
            Manifest manifest = writeInto(quantized, tmp, name, architecture, options);
            moveIntoPlace(tmp, target);
            logger.info("exported {} frozen layer(s) to {}", manifest.layers().size(), target);
            return manifest;
        } finally {
            deleteQuietly(tmp);
        }
    }

    /**
     * Refuses a target that exists, unless overwriting is on and the target is a frozen model
     * directory this library wrote, holding nothing else, and not the source model's directory.
     */
    private static void checkTarget(Path target, Model model, ExportOptions options) throws IOException {
        Path source = model.getModelPath() == null ? null : model.getModelPath().toAbsolutePath().normalize();
        if (source != null && Files.exists(target) && Files.exists(source)
                && (Files.isSameFile(source, target) || source.toRealPath().startsWith(target.toRealPath()))) {
            throw new IOException(target + " is (or holds) the directory model '" + model.getName()
                    + "' was loaded from; export somewhere else");
        }
        if (!Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!options.overwrite()) {
            throw new IOException(target + " already exists; choose another directory or export with"
                    + " ExportOptions.builder().optOverwrite(true)");
        }
        if (!Files.isDirectory(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(target + " is not a directory; overwrite replaces only a frozen model directory");
        }
        Manifest old;
        try {
            old = Manifest.read(target.resolve(Manifest.FILE));
        } catch (IOException e) {
            throw new IOException(target + " is not a frozen model directory written by this library ("
                    + e.getMessage() + "); overwrite replaces only those", e);
        }
        java.util.Set<String> ours = new java.util.HashSet<>(List.of(Manifest.FILE, SERVING, old.paramsFile()));
        if (old.files() != null) {
            ours.addAll(old.files().keySet());
        }
        List<String> others;
        try (Stream<Path> list = Files.list(target)) {
            others = list.map(p -> p.getFileName().toString()).filter(n -> !ours.contains(n)).sorted().toList();
        }
        if (!others.isEmpty()) {
            throw new IOException(target + " holds files this library did not write " + others
                    + "; overwrite replaces only a frozen model directory with nothing else in it");
        }
    }

    private static Manifest writeInto(
            QuantizedModel quantized,
            Path tmp,
            String name,
            Manifest.Architecture architecture,
            ExportOptions options)
            throws IOException {
        Model model = quantized.getModel();
        List<QuantizedLayer> layers = quantized.getLayers();
        List<Manifest.Layer> entries = new ArrayList<>();
        List<Manifest.ParameterChecksum> parameters = new ArrayList<>();
        Block root = model.getBlock();
        try (NDManager manager = model.getNDManager().newSubManager()) {
            List<FrozenLayer> frozen = new ArrayList<>();
            for (QuantizedLayer layer : layers) {
                frozen.add(freeze(layer, manager));
            }
            // swap the frozen blocks in, save, and swap the wrappers back whatever happens
            Block swapped = root;
            int done = 0;
            try {
                for (; done < layers.size(); done++) {
                    FrozenLayer f = frozen.get(done);
                    swapped = BlockTransformer.replaceAt(swapped, layers.get(done).getPath(), b -> f);
                }
                ParameterFile.write(tmp.resolve(name + "-0000.params"), name, swapped);
                for (ai.djl.util.Pair<String, Parameter> p : swapped.getParameters()) {
                    parameters.add(new Manifest.ParameterChecksum(
                            p.getKey(), Checksums.sha256(p.getValue().getArray().toByteArray())));
                }
            } finally {
                Block restored = swapped;
                for (int i = 0; i < done; i++) {
                    QuantizedLayer wrapper = layers.get(i);
                    restored = BlockTransformer.replaceAt(restored, wrapper.getPath(), b -> wrapper);
                }
                model.setBlock(restored);
            }
            for (int i = 0; i < layers.size(); i++) {
                entries.add(entry(layers.get(i), frozen.get(i).getFrozenWeights(), quantized));
            }
        }
        String paramsFile = name + "-0000.params";
        if (!Files.isRegularFile(tmp.resolve(paramsFile))) {
            throw new IOException("expected " + paramsFile + " in " + tmp);
        }
        String serving =
                "# a djl-nupes frozen model: Criteria.builder().optModelPath(<this directory>)\n"
                        + "engine=" + engineName(model) + '\n'
                        + "blockFactory=" + FrozenBlockFactory.class.getName() + '\n'
                        + "option.modelName=" + name + '\n';
        // the architecture's keys (and with them any translator options of the source directory)
        // carry over, so the frozen model loads like its source; explicit properties win
        Map<String, String> keys = new LinkedHashMap<>(architecture.arguments());
        keys.putAll(options.servingProperties());
        StringBuilder extra = new StringBuilder();
        keys.forEach((k, v) -> extra.append(k).append('=').append(v).append('\n'));
        serving += extra;
        Files.writeString(tmp.resolve(SERVING), serving, StandardCharsets.UTF_8);
        Map<String, String> files = new LinkedHashMap<>();
        files.put(paramsFile, Checksums.sha256(tmp.resolve(paramsFile)));
        for (Path f : options.files()) {
            String fileName = f.getFileName().toString();
            if (files.containsKey(fileName) || fileName.equals(Manifest.FILE) || fileName.equals(SERVING)) {
                throw new IOException(f + ": a file named " + fileName + " is already in the export");
            }
            Files.copy(f, tmp.resolve(fileName));
            files.put(fileName, Checksums.sha256(tmp.resolve(fileName)));
        }
        var report = quantized.getReport();
        Manifest manifest =
                new Manifest(
                        Manifest.FORMAT,
                        Manifest.FORMAT_VERSION,
                        Manifest.QUANTIZER_VERSION,
                        PRODUCER,
                        name,
                        paramsFile,
                        Files.size(tmp.resolve(paramsFile)),
                        files,
                        parameters,
                        architecture,
                        options.decode(),
                        entries,
                        new Manifest.Calibration(
                                report.method().id(),
                                report.calibrationSamples(),
                                report.seed(),
                                report.calibrationSha256()),
                        options.accuracy());
        manifest.write(tmp.resolve(Manifest.FILE));
        return manifest;
    }

    private static String engineName(Model model) {
        return model.getNDManager().getEngine().getEngineName();
    }

    private static FrozenLayer freeze(QuantizedLayer layer, NDManager manager) {
        LayerQuantizer q = layer.getQuantizer();
        QuantizedWeights weights = q.getQuantizedWeights();
        if (weights == null) {
            throw new IllegalStateException("layer '" + q.getPath() + "' has no quantized weights to export");
        }
        Parameter bias = q.getBiasParameter();
        FrozenLayer f =
                new FrozenWeights.Builder(
                                q.getPath(),
                                q.getFloatLayer(),
                                q.getSpec(),
                                weights.getShape(),
                                bias != null,
                                FrozenWeights.DecodeMode.CACHED)
                        .newBlock();
        NDArray biasArray = bias == null ? null : bias.getArray();
        f.getFrozenWeights().fill(weights, biasArray, manager);
        f.getFrozenWeights().setInputQuantizer(q.getInputQuantizer());
        return f;
    }

    private static Manifest.Layer entry(QuantizedLayer layer, FrozenWeights f, QuantizedModel quantized) {
        LayerQuantizer q = layer.getQuantizer();
        QuantizedWeights w = q.getQuantizedWeights();
        LayerReport report =
                quantized.getReport().layers().stream()
                        .filter(r -> r.path().equals(q.getPath()))
                        .findFirst()
                        .orElse(null);
        Double loss = report == null || Double.isNaN(report.lossAfter()) ? null : report.lossAfter();
        return new Manifest.Layer(
                q.getPath(),
                q.getFloatLayer().getClass().getName(),
                q.getSpec().getBits(),
                q.getSpec().getGrid().name(),
                w.getShape(),
                w.getExponents(),
                q.getSpec().getScaleGranularity() == Granularity.PER_CHANNEL ? "per-channel" : "per-tensor",
                q.getSpec().getGroupSize(),
                -q.getSpec().minCode(),
                BitPacker.BIT_ORDER,
                f.packedCodes().length,
                report == null ? Double.NaN : report.weightError(),
                loss,
                null,
                q.getInputQuantizer() == null
                        ? null
                        : new Manifest.Input(
                                q.getInputQuantizer().bits(),
                                q.getInputQuantizer().scale(),
                                q.getInputQuantizer().unsigned()));
    }

    private static Manifest.Architecture architecture(Model model, ExportOptions options) throws IOException {
        if (options.blockFactory() != null) {
            return new Manifest.Architecture(options.blockFactory(), options.arguments());
        }
        Path source = model.getModelPath();
        Path serving = source == null ? null : source.resolve("serving.properties");
        if (serving == null || !Files.isRegularFile(serving)) {
            throw new IOException("model '" + model.getName() + "' was not loaded from a directory with"
                    + " serving.properties; name its architecture with"
                    + " ExportOptions.builder().optArchitecture(factoryClass, arguments)");
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(serving)) {
            p.load(r);
        }
        String factory = p.getProperty("blockFactory");
        if (factory == null || factory.equals(FrozenBlockFactory.class.getName())) {
            throw new IOException(serving + ": no float blockFactory to rebuild the architecture from;"
                    + " name it with ExportOptions.builder().optArchitecture(...)");
        }
        Map<String, String> args = new LinkedHashMap<>();
        for (String key : p.stringPropertyNames()) {
            if (!key.startsWith("option.") && !key.equals("blockFactory") && !key.equals("engine")) {
                args.put(key, p.getProperty(key));
            }
        }
        return new Manifest.Architecture(factory, args);
    }

    private static void moveIntoPlace(Path tmp, Path target) throws IOException {
        Path old = null;
        if (Files.exists(target)) {
            old = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".old");
            Files.delete(old);
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (old != null) {
                Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
            }
            throw e;
        }
        if (old != null) {
            deleteQuietly(old);
        }
    }

    /** Deletes a directory tree this exporter made; a failure is logged, never thrown. */
    private static void deleteQuietly(Path path) {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException | RuntimeException e) {
            logger.warn("could not delete {} after exporting: {}", path, e.toString());
        }
    }
}
