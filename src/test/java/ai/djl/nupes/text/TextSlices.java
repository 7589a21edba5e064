package ai.djl.nupes.text;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-scope reader for the bundled text slices under {@code test-models/data/}: KJV verses
 * ({@code kjv/}) and WordNet 3.0 noun synsets ({@code wordnet/}), written by {@code
 * test-models/data/make-text-slices.py}.
 *
 * <p>Every file is checked against the SHA-256 recorded in its directory's {@code
 * provenance.json} before it is parsed; a missing file, a missing entry or a different checksum is
 * an {@link IllegalStateException} naming the file. The no-argument methods read relative to the
 * working directory (tests run from the repository root); the overloads take the {@code
 * test-models/data} directory explicitly.
 */
public final class TextSlices {

    /** The bundled data directory, relative to the repository root. */
    public static final Path DEFAULT_BASE = Path.of("test-models", "data");

    /** The KJV slices' directory under the base. */
    public static final String KJV = "kjv";

    /** The WordNet slice's directory under the base. */
    public static final String WORDNET = "wordnet";

    /** The name of the checksum record in each slice directory. */
    public static final String PROVENANCE = "provenance.json";

    private TextSlices() {}

    /**
     * One WordNet 3.0 noun synset.
     *
     * @param offset the 8-digit synset offset in {@code data.noun}
     * @param lemma the synset's first lemma, {@code _} replaced by spaces (unique within the
     *     slice, ignoring case)
     * @param gloss the definition part of the gloss (no example quotes)
     */
    public record WordNetNoun(String offset, String lemma, String gloss) {}

    /**
     * The 1024 calibration verses (Genesis 1:1 to Deuteronomy 34:12), in drawn order.
     *
     * @return one verse text per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvCalibration() {
        return kjvCalibration(DEFAULT_BASE);
    }

    /**
     * The calibration verses, read from another base directory.
     *
     * @param base the directory holding {@code kjv/} and {@code wordnet/}
     * @return one verse text per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvCalibration(Path base) {
        return lines(base.resolve(KJV), "calibration.txt");
    }

    /**
     * The references of the calibration verses ({@code Ge1:1} style), line for line with {@link
     * #kjvCalibration()}.
     *
     * @return one reference per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvCalibrationRefs() {
        return kjvCalibrationRefs(DEFAULT_BASE);
    }

    /**
     * The references of the calibration verses, read from another base directory.
     *
     * @param base the directory holding {@code kjv/} and {@code wordnet/}
     * @return one reference per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvCalibrationRefs(Path base) {
        return lines(base.resolve(KJV), "calibration.refs");
    }

    /**
     * The 2000 evaluation verses (Matthew 1:1 to Revelation 22:21), in drawn order.
     *
     * @return one verse text per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvEvaluation() {
        return kjvEvaluation(DEFAULT_BASE);
    }

    /**
     * The evaluation verses, read from another base directory.
     *
     * @param base the directory holding {@code kjv/} and {@code wordnet/}
     * @return one verse text per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvEvaluation(Path base) {
        return lines(base.resolve(KJV), "evaluation.txt");
    }

    /**
     * The references of the evaluation verses, line for line with {@link #kjvEvaluation()}.
     *
     * @return one reference per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvEvaluationRefs() {
        return kjvEvaluationRefs(DEFAULT_BASE);
    }

    /**
     * The references of the evaluation verses, read from another base directory.
     *
     * @param base the directory holding {@code kjv/} and {@code wordnet/}
     * @return one reference per entry
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static List<String> kjvEvaluationRefs(Path base) {
        return lines(base.resolve(KJV), "evaluation.refs");
    }

    /**
     * The 3000 WordNet 3.0 noun synsets, in drawn order.
     *
     * @return the synsets
     * @throws IllegalStateException when a file is missing, fails its checksum or is malformed
     */
    public static List<WordNetNoun> wordNetNouns() {
        return wordNetNouns(DEFAULT_BASE);
    }

    /**
     * The WordNet noun synsets, read from another base directory.
     *
     * @param base the directory holding {@code kjv/} and {@code wordnet/}
     * @return the synsets
     * @throws IllegalStateException when a file is missing, fails its checksum or is malformed
     */
    public static List<WordNetNoun> wordNetNouns(Path base) {
        Path dir = base.resolve(WORDNET);
        List<String> rows = lines(dir, "nouns.tsv");
        List<WordNetNoun> nouns = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            String[] f = rows.get(i).split("\t", -1);
            if (f.length != 3 || f[0].isEmpty() || f[1].isEmpty() || f[2].isEmpty()) {
                throw new IllegalStateException(
                        dir.resolve("nouns.tsv")
                                + ": line "
                                + (i + 1)
                                + " is not offset<TAB>lemma<TAB>gloss");
            }
            nouns.add(new WordNetNoun(f[0], f[1], f[2]));
        }
        return List.copyOf(nouns);
    }

    /**
     * Checks every file listed in both {@code provenance.json} files (texts, references, licence).
     *
     * @param base the directory holding {@code kjv/} and {@code wordnet/}
     * @return how many files were checked
     * @throws IllegalStateException when a file is missing or fails its checksum
     */
    public static int verifyAll(Path base) {
        int n = 0;
        for (String sub : List.of(KJV, WORDNET)) {
            Path dir = base.resolve(sub);
            for (String name : checksums(dir).keySet()) {
                verifiedBytes(dir, name);
                n++;
            }
        }
        return n;
    }

    /**
     * The SHA-256 sums a slice directory's {@code provenance.json} records, by file name.
     *
     * @param dir a slice directory ({@code kjv} or {@code wordnet})
     * @return lower-case hex SHA-256 by file name
     * @throws IllegalStateException when the record is missing or malformed
     */
    public static Map<String, String> checksums(Path dir) {
        Path record = dir.resolve(PROVENANCE);
        JsonObject files;
        try {
            String json = Files.readString(record, StandardCharsets.UTF_8);
            JsonElement root = JsonParser.parseString(json);
            files = root.getAsJsonObject().getAsJsonObject("files");
        } catch (NoSuchFileException e) {
            throw new IllegalStateException(record + ": missing", e);
        } catch (IOException | JsonParseException | IllegalStateException | ClassCastException e) {
            throw new IllegalStateException(record + ": unreadable: " + e.getMessage(), e);
        }
        if (files == null) {
            throw new IllegalStateException(record + ": no \"files\" object");
        }
        Map<String, String> sums = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : files.entrySet()) {
            JsonElement entry = e.getValue();
            JsonElement sha = entry.isJsonObject() ? entry.getAsJsonObject().get("sha256") : null;
            if (sha == null || !sha.isJsonPrimitive()) {
                throw new IllegalStateException(record + ": no sha256 for " + e.getKey());
            }
            sums.put(e.getKey(), sha.getAsString());
        }
        return sums;
    }

    private static List<String> lines(Path dir, String name) {
        byte[] bytes = verifiedBytes(dir, name);
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException(dir.resolve(name) + ": not UTF-8", e);
        }
        // every line ends in '\n'; split drops the trailing empty string
        return List.of(text.split("\n"));
    }

    private static byte[] verifiedBytes(Path dir, String name) {
        Path file = dir.resolve(name);
        String expected = checksums(dir).get(name);
        if (expected == null) {
            throw new IllegalStateException(file + ": not listed in " + dir.resolve(PROVENANCE));
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalStateException(file + ": missing", e);
        } catch (IOException e) {
            throw new IllegalStateException(file + ": unreadable: " + e.getMessage(), e);
        }
        String actual = sha256(bytes);
        if (!actual.equalsIgnoreCase(expected)) {
            throw new IllegalStateException(
                    file + ": SHA-256 " + actual + " differs from " + expected + " in "
                            + PROVENANCE);
        }
        return bytes;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 is a required JDK algorithm", e);
        }
    }
}
