package ai.djl.nupes.export;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;
import ai.djl.nn.Parameter;
import ai.djl.nupes.format.Checksums;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.format.ParameterFile;
import ai.djl.nupes.integer.IntegerLayer;
import ai.djl.nupes.nn.FrozenLayer;
import ai.djl.nupes.nn.FrozenWeights;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.nupes.transform.BlockTransformer;
import ai.djl.util.Pair;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * Rebuilds a frozen model's block tree for {@code Criteria}: the float architecture from the
 * manifest's block factory, with a frozen block at every quantized layer's path. Before DJL loads
 * the parameter file into it, the file's length and SHA-256 are checked against the manifest (on a
 * mismatch the tensor that differs is named); once loaded, each frozen block checks its tensors.
 *
 * <p>Arguments (from {@code serving.properties} or {@code Criteria.optArgument}): {@code
 * decode=each-forward} decodes at every forward instead of caching decoded weights ({@code
 * decode=cached}); {@code path=integer} runs every frozen layer on the integer-only reference path
 * ({@link IntegerLayer}) instead of the float path ({@code path=float}, the default), and fails
 * naming the first layer that cannot (float inputs, per-channel exponents, no kernel). Other values
 * are refused.
 */
public final class FrozenBlockFactory implements BlockFactory {

    private static final long serialVersionUID = 1L;

    /** {@inheritDoc} */
    @Override
    public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) throws IOException {
        Path manifestFile = modelPath.resolve(Manifest.FILE);
        Manifest manifest = Manifest.read(manifestFile);
        FrozenWeights.DecodeMode mode = decodeMode(arguments.get("decode"), manifest, modelPath);
        ExecutionPath path;
        try {
            path = ExecutionPath.of(arguments.get("path"));
        } catch (IllegalArgumentException e) {
            throw new IOException(modelPath + ": " + e.getMessage(), e);
        }
        Path file = modelPath.resolve(manifest.paramsFile());
        long size = Files.isRegularFile(file) ? Files.size(file) : -1;
        if (size != manifest.paramsBytes()) {
            throw new IOException(file + ": " + (size < 0 ? "missing" : size + " bytes") + ", manifest says "
                    + manifest.paramsBytes() + " (truncated or replaced)");
        }
        Block root = build(manifest, model, modelPath, mode, path);
        if (manifest.formatVersion() >= 2) {
            verifyFiles(manifest, model, modelPath);
        }
        return root;
    }

    private static Block build(
            Manifest manifest, Model model, Path modelPath, FrozenWeights.DecodeMode mode, ExecutionPath path)
            throws IOException {
        Path manifestFile = modelPath.resolve(Manifest.FILE);
        Path file = modelPath.resolve(manifest.paramsFile());
        Block root = architecture(manifest, modelPath).newBlock(model, modelPath, manifest.architecture().arguments());
        for (Manifest.Layer layer : manifest.layers()) {
            QuantizerSpec spec = spec(layer, modelPath);
            Manifest.Input in = layer.input();
            InputQuantizer input;
            try {
                input = in == null ? null : new InputQuantizer(in.bits(), in.scale(), in.unsigned());
                root =
                        BlockTransformer.replaceAt(
                                root,
                                layer.path(),
                                template -> {
                                    if (!template.getClass().getName().equals(layer.type())) {
                                        throw new IllegalArgumentException("the architecture has a "
                                                + template.getClass().getName() + " there, the manifest a "
                                                + layer.type());
                                    }
                                    FrozenLayer f =
                                            new FrozenWeights.Builder(
                                                            layer.path(),
                                                            template,
                                                            spec,
                                                            layer.shape(),
                                                            template.getParameters().get("bias") != null,
                                                            mode)
                                                    .newBlock();
                                    FrozenWeights weights = f.getFrozenWeights();
                                    weights.expect(new FrozenWeights.Expected(
                                            file.toString(), layer.exponents(), layer.sha256()));
                                    weights.setInputQuantizer(input);
                                    if (path == ExecutionPath.INTEGER) {
                                        String reason = IntegerLayer.unsupported(template, spec, input);
                                        if (reason != null) {
                                            throw new IllegalStateException("cannot run the integer path: " + reason);
                                        }
                                        weights.setKernelFactory(data -> IntegerLayer.fromFrozen(data, template)::forward);
                                    }
                                    return f;
                                });
            } catch (IllegalArgumentException | IllegalStateException e) {
                throw new IOException(manifestFile + ": layer '" + layer.path() + "': " + e.getMessage(), e);
            }
        }
        return root;
    }

    /**
     * Checks every data file's SHA-256; when the parameter file's differs, loads it into a scratch
     * copy of the tree and names the first parameter whose bytes differ from the manifest.
     */
    private static void verifyFiles(Manifest manifest, Model model, Path modelPath) throws IOException {
        for (Map.Entry<String, String> e : manifest.files().entrySet()) {
            Path f = modelPath.resolve(e.getKey());
            if (!Files.isRegularFile(f)) {
                throw new IOException(f + ": missing (the manifest lists it)");
            }
            String got = Checksums.sha256(f);
            if (got.equals(e.getValue())) {
                continue;
            }
            String where = e.getKey().equals(manifest.paramsFile()) ? " " + locateDifference(manifest, model, modelPath) : "";
            throw new IOException(f + ": checksum mismatch (sha256 " + got + ", manifest " + e.getValue() + ")" + where);
        }
    }

    private static String locateDifference(Manifest manifest, Model model, Path modelPath) {
        Path file = modelPath.resolve(manifest.paramsFile());
        try (NDManager scratch = model.getNDManager().newSubManager();
                DataInputStream in = ParameterFile.open(file)) {
            Block copy = build(manifest, model, modelPath, FrozenWeights.DecodeMode.EACH_FORWARD, ExecutionPath.FLOAT);
            copy.loadParameters(scratch, in);
            Iterator<Manifest.ParameterChecksum> expected = manifest.parameters().iterator();
            for (Pair<String, Parameter> p : copy.getParameters()) {
                if (!expected.hasNext()) {
                    return "; the file holds more parameters than the manifest lists";
                }
                Manifest.ParameterChecksum want = expected.next();
                String got = Checksums.sha256(p.getValue().getArray().toByteArray());
                if (!p.getKey().equals(want.name()) || !got.equals(want.sha256())) {
                    return "; first differing tensor: '" + p.getKey() + "' (sha256 " + got + ", manifest "
                            + want.name() + " " + want.sha256() + ')';
                }
            }
            return "; every tensor matches: the header or the layout differs";
        } catch (IOException | MalformedModelException | RuntimeException e) {
            return "; reading it fails: " + e.getMessage();
        }
    }

    private static FrozenWeights.DecodeMode decodeMode(Object argument, Manifest manifest, Path modelPath)
            throws IOException {
        String decode = argument != null ? argument.toString().trim() : manifest.decode() == null ? "cached" : manifest.decode();
        if (!Manifest.DECODE_MODES.contains(decode)) {
            throw new IOException(modelPath + ": argument decode=" + decode + " is not one of " + Manifest.DECODE_MODES);
        }
        return "each-forward".equals(decode) ? FrozenWeights.DecodeMode.EACH_FORWARD : FrozenWeights.DecodeMode.CACHED;
    }

    private static BlockFactory architecture(Manifest manifest, Path modelPath) throws IOException {
        String name = manifest.architecture().blockFactory();
        try {
            ClassLoader cl = Thread.currentThread().getContextClassLoader();
            Class<?> c = Class.forName(name, true, cl != null ? cl : FrozenBlockFactory.class.getClassLoader());
            return (BlockFactory) c.getConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException | LinkageError e) {
            throw new IOException(modelPath.resolve(Manifest.FILE) + ": cannot create the architecture's"
                    + " block factory " + name + " (is it on the classpath?): " + e, e);
        }
    }

    private static QuantizerSpec spec(Manifest.Layer layer, Path modelPath) throws IOException {
        try {
            Granularity scale = "per-tensor".equals(layer.scaleType()) ? Granularity.PER_TENSOR : Granularity.PER_CHANNEL;
            Granularity exponent = layer.exponents().length > 1 ? Granularity.PER_CHANNEL : Granularity.PER_TENSOR;
            QuantizerSpec spec = QuantizerSpec.of(layer.bits(), scale, exponent).withGrid(Grid.valueOf(layer.grid()))
                    .withGroupSize(layer.groupSize());
            if (!ai.djl.nupes.format.BitPacker.BIT_ORDER.equals(layer.bitOrder()) || layer.codeOffset() != -spec.minCode()) {
                throw new IllegalArgumentException(
                        "bit order " + layer.bitOrder() + " / code offset " + layer.codeOffset()
                                + " not supported");
            }
            if (!"per-tensor".equals(layer.scaleType()) && !"per-channel".equals(layer.scaleType())) {
                throw new IllegalArgumentException("scale type '" + layer.scaleType() + "' is not per-channel or per-tensor");
            }
            return spec;
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IOException(modelPath.resolve(Manifest.FILE) + ": layer '" + layer.path() + "': "
                    + e.getMessage(), e);
        }
    }
}
