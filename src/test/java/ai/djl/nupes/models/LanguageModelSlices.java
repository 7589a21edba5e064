package ai.djl.nupes.models;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.format.Checksums;
import ai.djl.nupes.text.KjvCorpus;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code lm}'s shipped text slices in {@code test-models/lm/}, checked against the SHA-256 in
 * its {@code provenance.json}: {@code calibration.txt} (windows of the training range, concatenated)
 * and {@code evaluation.txt} (the start of the test range). Neither needs the Debian package.
 */
public final class LanguageModelSlices {

    /** Calibration file name. */
    public static final String CALIBRATION = "calibration.txt";
    /** Evaluation file name. */
    public static final String EVALUATION = "evaluation.txt";

    private LanguageModelSlices() {}

    /**
     * The evaluation slice as ids.
     *
     * @param dir the model directory
     * @return the ids
     * @throws IOException when the file is missing or its checksum differs
     */
    public static int[] evaluation(Path dir) throws IOException {
        return KjvCorpus.encode(read(dir, "evaluation", EVALUATION), TestModel.LM_VOCAB);
    }

    /**
     * The calibration windows, {@code (windows, T)} ids in batches, as model inputs.
     *
     * @param dir the model directory
     * @param manager where to create the arrays
     * @param windows how many windows to take (at most the file's)
     * @param batch windows per NDList
     * @return the batches
     * @throws IOException when the file is missing or its checksum differs
     */
    public static List<NDList> calibration(Path dir, NDManager manager, int windows, int batch)
            throws IOException {
        int[] ids = KjvCorpus.encode(read(dir, "calibration", CALIBRATION), TestModel.LM_VOCAB);
        int t = TestModel.LM_CONTEXT;
        int available = ids.length / t;
        if (windows > available) {
            throw new IllegalArgumentException(
                    windows + " calibration windows asked for, " + dir.resolve(CALIBRATION) + " holds " + available);
        }
        List<NDList> out = new ArrayList<>();
        for (int from = 0; from < windows; from += batch) {
            int n = Math.min(batch, windows - from);
            long[] x = Arrays.stream(ids, from * t, (from + n) * t).asLongStream().toArray();
            out.add(new NDList(manager.create(x, new Shape(n, t))));
        }
        return out;
    }

    /**
     * The model's provenance record.
     *
     * @param dir the model directory
     * @return the parsed {@code provenance.json}
     * @throws IOException when it cannot be read
     */
    public static JsonObject provenance(Path dir) throws IOException {
        return JsonParser.parseString(Files.readString(dir.resolve("provenance.json"), StandardCharsets.UTF_8))
                .getAsJsonObject();
    }

    private static String read(Path dir, String slice, String file) throws IOException {
        Path path = dir.resolve(file);
        if (!Files.isRegularFile(path)) {
            throw new IOException("missing " + path.toAbsolutePath() + "; the train command writes it");
        }
        String expected =
                provenance(dir).getAsJsonObject("slices").getAsJsonObject(slice).get("sha256").getAsString();
        String actual = Checksums.sha256(path);
        if (!expected.equals(actual)) {
            throw new IOException(path + ": SHA-256 " + actual + " differs from provenance.json's " + expected);
        }
        return Files.readString(path, StandardCharsets.US_ASCII);
    }
}
