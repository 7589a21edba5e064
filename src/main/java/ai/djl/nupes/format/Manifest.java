package ai.djl.nupes.format;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a frozen model directory. Field names are the JSON keys.
 *
 * @param format the string {@value #FORMAT}
 * @param formatVersion layout of the directory and the parameter file ({@value #FORMAT_VERSION})
 * @param quantizerVersion meaning of codes, scales and exponents ({@value #QUANTIZER_VERSION})
 * @param producer the project and version that wrote it
 * @param modelName the parameter file prefix
 * @param paramsFile the parameter file name
 * @param paramsBytes the parameter file's length, checked before loading (truncation)
 * @param files the SHA-256 of every data file of the directory (the parameter file and any file
 *     a translator reads), checked before loading (format 2)
 * @param parameters every parameter of the parameter file in save order with the SHA-256 of its
 *     bytes, frozen or float (format 2): names the tensor when the file's checksum fails
 * @param architecture the float architecture's block factory and its arguments
 * @param decode default decode mode ({@code cached} or {@code each-forward})
 * @param layers every frozen layer, in network order
 * @param calibration where the quantization came from
 * @param accuracy float and quantized accuracy measured before export (may be null)
 */
public record Manifest(
        String format,
        int formatVersion,
        int quantizerVersion,
        String producer,
        String modelName,
        String paramsFile,
        long paramsBytes,
        Map<String, String> files,
        List<ParameterChecksum> parameters,
        Architecture architecture,
        String decode,
        List<Layer> layers,
        Calibration calibration,
        Accuracy accuracy) {

    /** Magic string of the format. */
    public static final String FORMAT = "djl-nupes-frozen";
    /**
     * Current directory/parameter layout version: 2 adds checksums of every file and parameter, 3
     * group-wise scales.
     */
    public static final int FORMAT_VERSION = 3;
    /** The oldest layout this reader loads: 1 checks only the frozen layers' tensors. */
    public static final int OLDEST_FORMAT_VERSION = 1;
    /** The decode modes a manifest or a {@code decode} argument may name. */
    public static final List<String> DECODE_MODES = List.of("cached", "each-forward");
    /** Current quantizer semantics version: codes, grids, decode formula. */
    public static final int QUANTIZER_VERSION = 1;
    /** The manifest file name. */
    public static final String FILE = "manifest.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /**
     * One parameter of the parameter file.
     *
     * @param name its name as the block tree lists it ({@code Block.getParameters()})
     * @param sha256 SHA-256 of its array's bytes
     */
    public record ParameterChecksum(String name, String sha256) {}

    /**
     * The float architecture.
     *
     * @param blockFactory class name of its {@code BlockFactory}
     * @param arguments the factory's arguments
     */
    public record Architecture(String blockFactory, Map<String, String> arguments) {}

    /**
     * One frozen layer.
     *
     * @param path its path in the block tree
     * @param type the float layer class
     * @param bits code width
     * @param grid {@code SYMMETRIC} or {@code HALF_INTEGER}
     * @param shape weight shape
     * @param exponents the exponent(s)
     * @param scaleType {@code per-channel} or {@code per-tensor}
     * @param groupSize weights per scale along a channel, 0 for one scale per channel (format 3;
     *     absent, hence 0, in older files)
     * @param codeOffset the value added to a code index before packing ({@code -minCode})
     * @param bitOrder how codes are packed ({@value BitPacker#BIT_ORDER})
     * @param packedBytes length of the packed codes
     * @param weightError relative weight reconstruction error
     * @param reconstructionLoss calibration loss after quantization (null when data-free)
     * @param sha256 SHA-256 of each of the layer's tensors (format 1 only; format 2 lists every
     *     parameter in {@link Manifest#parameters})
     * @param input the input quantizer sharing the layer's exponent (null for float inputs)
     */
    public record Layer(
            String path,
            String type,
            int bits,
            String grid,
            long[] shape,
            float[] exponents,
            String scaleType,
            int groupSize,
            int codeOffset,
            String bitOrder,
            int packedBytes,
            double weightError,
            Double reconstructionLoss,
            Map<String, String> sha256,
            Input input) {}

    /**
     * A layer's input quantizer: {@code x̂ = sign(x)·scale·(|c|/D)^(1/a)} with the layer's exponent.
     *
     * @param bits input bits
     * @param scale the input range
     * @param unsigned whether the unsigned grid (D = 2^b - 1) is used; otherwise D = 2^(b-1) - 1
     */
    public record Input(int bits, float scale, boolean unsigned) {}

    /**
     * Provenance of the quantization.
     *
     * @param method the method id
     * @param samples calibration sample count (0 when data-free)
     * @param seed the seed
     * @param dataSha256 SHA-256 of the calibration inputs (null when data-free)
     */
    public record Calibration(String method, int samples, long seed, String dataSha256) {}

    /**
     * Accuracy measured before export.
     *
     * @param floatAccuracy the float model's
     * @param quantizedAccuracy the quantized model's
     * @param samples test samples
     */
    public record Accuracy(double floatAccuracy, double quantizedAccuracy, long samples) {}

    /**
     * Writes the manifest.
     *
     * @param file the file
     * @throws IOException on failure
     */
    public void write(Path file) throws IOException {
        Files.writeString(file, GSON.toJson(this) + '\n', StandardCharsets.UTF_8);
    }

    /**
     * Reads and validates a manifest: format string and versions.
     *
     * @param file the file
     * @return the manifest
     * @throws IOException naming the file when it is missing, unreadable, not this format or of an
     *     unsupported version
     */
    public static Manifest read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": missing; not a djl-nupes frozen model directory");
        }
        Manifest m;
        try {
            m = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), Manifest.class);
        } catch (JsonParseException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (m == null || !FORMAT.equals(m.format())) {
            throw new IOException(file + ": format is " + (m == null ? null : m.format()) + ", expected "
                    + FORMAT);
        }
        if (m.formatVersion() < OLDEST_FORMAT_VERSION || m.formatVersion() > FORMAT_VERSION) {
            throw new IOException(file + ": format version " + m.formatVersion() + " is not supported"
                    + " (this reader handles " + OLDEST_FORMAT_VERSION + " to " + FORMAT_VERSION + ')');
        }
        if (m.quantizerVersion() != QUANTIZER_VERSION) {
            throw new IOException(file + ": quantizer version " + m.quantizerVersion()
                    + " is not supported (this reader handles " + QUANTIZER_VERSION + ')');
        }
        if (m.layers() == null || m.architecture() == null || m.architecture().blockFactory() == null
                || m.paramsFile() == null) {
            throw new IOException(file + ": layers, architecture or parameter file missing");
        }
        if (m.formatVersion() >= 2 && (m.files() == null || m.parameters() == null
                || !m.files().containsKey(m.paramsFile()))) {
            throw new IOException(file + ": format " + m.formatVersion() + " needs the checksums of its files and"
                    + " parameters");
        }
        if (m.decode() != null && !DECODE_MODES.contains(m.decode())) {
            throw new IOException(file + ": decode is '" + m.decode() + "', not one of " + DECODE_MODES);
        }
        List<String> names = new java.util.ArrayList<>(List.of(m.paramsFile()));
        if (m.files() != null) {
            names.addAll(m.files().keySet());
        }
        for (String name : names) {
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                throw new IOException(file + ": file '" + name + "' must be a plain file name in the directory");
            }
        }
        return m;
    }
}
