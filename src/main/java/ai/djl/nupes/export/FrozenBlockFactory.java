package ai.djl.nupes.export;

import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.format.BitPacker;
import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;
import ai.djl.nupes.nn.FrozenLayer;
import ai.djl.nupes.nn.FrozenWeights;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.quantizer.Granularity;
import ai.djl.nupes.quantizer.Grid;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.nupes.transform.BlockTransformer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Rebuilds a frozen model's block tree for {@code Criteria}: the float architecture from the
 * manifest's block factory, with a frozen block at every quantized layer's path. DJL then loads the
 * parameter file into it; each frozen block checks its tensors against the manifest.
 *
 * <p>Arguments (from {@code serving.properties} or {@code Criteria.optArgument}): {@code
 * decode=each-forward} decodes at every forward instead of caching decoded weights; {@code
 * path=integer} runs every frozen layer on the integer-only reference path ({@link
 * ai.djl.nupes.integer.IntegerLayer}) instead of the float path ({@code path=float}, the default),
 * and fails naming the first layer that cannot (float inputs, per-channel exponents, no kernel).
 */
public final class FrozenBlockFactory implements BlockFactory {

    private static final long serialVersionUID = 1L;

    /** {@inheritDoc} */
    @Override
    public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) throws IOException {
        Manifest manifest = Manifest.read(modelPath.resolve(Manifest.FILE));
        Object decodeArg = arguments.get("decode");
        String decode = decodeArg != null ? decodeArg.toString() : manifest.decode();
        FrozenWeights.DecodeMode mode =
                "each-forward".equals(decode) ? FrozenWeights.DecodeMode.EACH_FORWARD : FrozenWeights.DecodeMode.CACHED;
        FrozenWeights.ExecutionPath path = executionPath(arguments.get("path"), modelPath);
        Block root = architecture(manifest, model, modelPath).newBlock(model, modelPath, manifest.architecture().arguments());
        Path file = modelPath.resolve(manifest.paramsFile());
        long size = Files.isRegularFile(file) ? Files.size(file) : -1;
        if (size != manifest.paramsBytes()) {
            throw new IOException(file + ": " + (size < 0 ? "missing" : size + " bytes") + ", manifest says "
                    + manifest.paramsBytes() + " (truncated or replaced)");
        }
        for (Manifest.Layer layer : manifest.layers()) {
            QuantizerSpec spec = spec(layer, modelPath);
            try {
                root =
                        BlockTransformer.replaceAt(
                                root,
                                layer.path(),
                                template -> {
                                    FrozenLayer f =
                                            new FrozenWeights.Builder(
                                                            layer.path(),
                                                            template,
                                                            spec,
                                                            layer.shape(),
                                                            template.getParameters().get("bias") != null,
                                                            mode)
                                                    .newBlock();
                                    f.getFrozenWeights()
                                            .expect(new FrozenWeights.Expected(file.toString(), layer.sha256()));
                                    Manifest.Input in = layer.input();
                                    if (in != null) {
                                        f.getFrozenWeights()
                                                .setInputQuantizer(new InputQuantizer(in.bits(), in.scale(), in.unsigned()));
                                    }
                                    f.getFrozenWeights().setExecutionPath(path);
                                    return f;
                                });
            } catch (IllegalArgumentException | IllegalStateException e) {
                throw new IOException(modelPath.resolve(Manifest.FILE) + ": layer '" + layer.path() + "': "
                        + e.getMessage(), e);
            }
        }
        return root;
    }

    private static FrozenWeights.ExecutionPath executionPath(Object argument, Path modelPath) throws IOException {
        String value = argument == null ? "float" : argument.toString().trim().toLowerCase(java.util.Locale.ROOT);
        return switch (value) {
            case "float" -> FrozenWeights.ExecutionPath.FLOAT;
            case "integer" -> FrozenWeights.ExecutionPath.INTEGER;
            default -> throw new IOException(modelPath + ": argument path=" + argument
                    + " is not one of float, integer");
        };
    }

    private static BlockFactory architecture(Manifest manifest, Model model, Path modelPath) throws IOException {
        String name = manifest.architecture().blockFactory();
        try {
            ClassLoader cl = Thread.currentThread().getContextClassLoader();
            Class<?> c = Class.forName(name, true, cl != null ? cl : FrozenBlockFactory.class.getClassLoader());
            return (BlockFactory) c.getConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IOException(modelPath.resolve(Manifest.FILE) + ": cannot create the architecture's"
                    + " block factory " + name + ": " + e, e);
        }
    }

    private static QuantizerSpec spec(Manifest.Layer layer, Path modelPath) throws IOException {
        try {
            Granularity scale = "per-tensor".equals(layer.scaleType()) ? Granularity.PER_TENSOR : Granularity.PER_CHANNEL;
            Granularity exponent = layer.exponents().length > 1 ? Granularity.PER_CHANNEL : Granularity.PER_TENSOR;
            QuantizerSpec spec = QuantizerSpec.of(layer.bits(), scale, exponent).withGrid(Grid.valueOf(layer.grid()));
            if (!BitPacker.BIT_ORDER.equals(layer.bitOrder()) || layer.codeOffset() != -spec.minCode()) {
                throw new IllegalArgumentException(
                        "bit order " + layer.bitOrder() + " / code offset " + layer.codeOffset()
                                + " not supported");
            }
            return spec;
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IOException(modelPath.resolve(Manifest.FILE) + ": layer '" + layer.path() + "': "
                    + e.getMessage(), e);
        }
    }
}
